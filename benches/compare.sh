#!/usr/bin/env bash
# Regenerates the data and reruns every end-to-end comparison of benches/README.md on this
# machine: mailscrub vs the csv floor, DuckDB, pandas + python-email-validator; 1 and 2 threads;
# peak memory. Installs DuckDB, pandas and email-validator into .venv from the package registry.
# Usage: benches/compare.sh [ROWS] (default 10000000; pandas runs on a 1M-row slice and on the
# whole file). `benches/compare.sh shapes [ROWS]` (default 2000000) instead compares mailscrub
# with the csv floor on the four shapes of export of benches/README.md only, in ROUNDS
# alternating rounds (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
t() { sync; /usr/bin/time -f "%e s, %M KB peak" "$@"; }
t3() { for _ in 1 2 3; do t "$@"; done; }
if [ "${1:-}" = shapes ]; then
  # The same rows in four layouts: the generator's own (quotes only where needed), every field
  # quoted (Mailchimp, HubSpot, Salesforce, csv.QUOTE_ALL), a long free-text notes column with
  # quotes and line breaks, and `;` with CRLF and a BOM (Excel in much of Europe).
  ROWS=${2:-2000000}
  ROUNDS=${ROUNDS:-5}
  DATA=${DATA:-target/compare}
  mkdir -p "$DATA"
  cargo build --release --quiet --bin mailscrub --example gen --example csv_floor
  for shape in plain quote-all notes semicolon-crlf-bom; do
    case $shape in
      plain) flags=(); delim=, ;;
      quote-all) flags=(--quote-all); delim=, ;;
      notes) flags=(--notes); delim=, ;;
      semicolon-crlf-bom) flags=(--dialect semicolon-crlf-bom); delim=';' ;;
    esac
    target/release/examples/gen --rows "$ROWS" --seed 7 "${flags[@]}" > "$DATA/shape-$shape.csv"
    echo "== $shape: $(du -m "$DATA/shape-$shape.csv" | cut -f1) MB; $ROUNDS rounds of the csv floor, then mailscrub clean --no-dns (2 threads)"
    # The two alternate, round by round, so that a slow spell of the machine falls on both: run
    # back to back in blocks of three, a spell that hit only the floor's block once made the
    # share of the floor look 15 points better than it was.
    : > "$DATA/times-$shape.txt"
    for _ in $(seq "$ROUNDS"); do
      for who in floor mailscrub; do
        sync
        if [ "$who" = floor ]; then
          cmd=(target/release/examples/csv_floor "$DATA/shape-$shape.csv" "$DATA/floor.csv" "$delim")
        else
          cmd=(target/release/mailscrub clean "$DATA/shape-$shape.csv" --out "$DATA/out-$shape" --no-dns --quiet)
        fi
        /usr/bin/time -f "$who %e s, %M KB peak" -o "$DATA/time.txt" "${cmd[@]}" >/dev/null
        cat "$DATA/time.txt" | tee -a "$DATA/times-$shape.txt"
      done
    done
    # Best and median of each, and mailscrub's share of the floor by both.
    awk -v shape="$shape" '
      { t[$1, ++n[$1]] = $2 }
      function sorted_at(who, k,   i, j, v, a) {
        for (i = 1; i <= n[who]; i++) a[i] = t[who, i]
        for (i = 2; i <= n[who]; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
        return a[k]
      }
      END {
        fb = sorted_at("floor", 1); fm = sorted_at("floor", int((n["floor"] + 1) / 2))
        mb = sorted_at("mailscrub", 1); mm = sorted_at("mailscrub", int((n["mailscrub"] + 1) / 2))
        printf "%s: floor best %.2f s, median %.2f s; mailscrub best %.2f s, median %.2f s; share of the floor: best %.0f%%, median %.0f%%\n", shape, fb, fm, mb, mm, 100 * fb / mb, 100 * fm / mm
      }' "$DATA/times-$shape.txt"
  done
  exit 0
fi
ROWS=${1:-10000000}
DATA=${DATA:-target/compare}
mkdir -p "$DATA"
python3 -m venv .venv >/dev/null 2>&1 || true
.venv/bin/pip install --quiet --disable-pip-version-check duckdb pandas email-validator pyarrow
cargo build --release --quiet --bin mailscrub --example gen --example csv_floor
BIN=target/release/mailscrub

echo "== generating $ROWS rows and a 1M-address bounce list"
target/release/examples/gen --rows "$ROWS" --seed 7 > "$DATA/list.csv"
sed -n "1,1000001p" "$DATA/list.csv" > "$DATA/list-1m.csv"
# The bounce history: every 10th address of the list (as a suppression list an ESP would export)
# plus made-up ones, 1M lines in all.
{
  echo email
  awk -F, 'NR > 1 && c < 1000000 {
    if (NR % 10 == 0 && $2 ~ /@/) { print $2; c++ }
    else if (NR % 10 == 5) { print "gone" NR "@bounced-domain.com"; c++ }
  }' "$DATA/list.csv"
} > "$DATA/bounces.csv"

sync
# Each timed command starts after `sync`, so that it does not pay for writing back the files of
# the step before (on this VM that alone moved a 10M-row run by more than a second). The fast
# commands run three times (best time is the figure; all three are printed); pandas runs once.
echo "== csv floor (read + write every record)"
t3 target/release/examples/csv_floor "$DATA/list.csv" "$DATA/floor.csv"
echo "== mailscrub clean, 2 threads"
t3 $BIN clean "$DATA/list.csv" --bounces "$DATA/bounces.csv" --out "$DATA/out" --no-dns --quiet
echo "== mailscrub clean, 1 thread"
RAYON_NUM_THREADS=1 t3 $BIN clean "$DATA/list.csv" --bounces "$DATA/bounces.csv" --out "$DATA/out1" --no-dns --quiet
echo "== duckdb (same file, SQL equivalent)"
t3 .venv/bin/python benches/compare.py duckdb "$DATA/list.csv" "$DATA/bounces.csv" "$DATA/duck.csv"
echo "== 1M-row slice: mailscrub vs pandas + email-validator"
t3 $BIN clean "$DATA/list-1m.csv" --bounces "$DATA/bounces.csv" --out "$DATA/out-1m" --no-dns --quiet
t .venv/bin/python benches/compare.py pandas "$DATA/list-1m.csv" "$DATA/bounces.csv" "$DATA/pandas.csv"
echo "== full file: pandas + email-validator (about 4-5 minutes here)"
t .venv/bin/python benches/compare.py pandas "$DATA/list.csv" "$DATA/bounces.csv" "$DATA/pandas10m.csv"
