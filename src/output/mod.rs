//! Stage 7: every byte of the files a run leaves behind.

pub mod export;
pub mod parquet;
pub mod shape;
