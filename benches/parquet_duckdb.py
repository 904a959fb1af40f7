"""DuckDB's read_parquet over the file benches/parquet_read.rs generated: every column read and
used (lengths summed), so that nothing is answered from the footer alone. Run with the project's
.venv (pip install duckdb)."""
import sys, time
import duckdb

path = sys.argv[1] if len(sys.argv) > 1 else "target/bench-list.parquet"
con = duckdb.connect()
con.execute("SET threads = 2")
cols = ["id", "email", "first_name", "last_name", "signup_date", "country"]
expr = " + ".join(f"coalesce(length({c}), 0)" for c in cols)
best = None
for _ in range(3):
    t = time.perf_counter()
    rows, total = con.execute(f"SELECT count(*), sum({expr}) FROM read_parquet(?)", [path]).fetchone()
    s = time.perf_counter() - t
    best = s if best is None else min(best, s)
print(f"duckdb {duckdb.__version__} read_parquet, all columns: {rows} rows in {best:.2f} s (best of 3) = {rows / best / 1e6:.2f} M rows/s")
