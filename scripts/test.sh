#!/usr/bin/env bash
# The test suite, from a fresh machine with Rust and Python 3: the Parquet tests read mailscrub's
# outputs with pyarrow (an independent reader), installed here into .venv from the package
# registry. The DNS tests start their own DNS server on 127.0.0.1; nothing else is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import pyarrow" >/dev/null 2>&1; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "pyarrow>=14"
fi
export MAILSCRUB_PYTHON="$PWD/.venv/bin/python"
cargo test "$@"
