#!/usr/bin/env bash
# Bulk DNS against a server mailscrub did not write: NSD on 127.0.0.1 serving N domains (50,000
# by default), each with its own MX host (the cold-cache case of a B2B list), response rate
# limiting off. Times `mailscrub resolve` with the pipelined client (random IDs and ports,
# answers checked) and with hickory-resolver, and measures the ceiling with dnsperf (MX queries
# only) against the same server. Needs Debian's nsd and dnsperf (`apt-get install nsd dnsperf`).
# Usage: benches/nsd.sh [DOMAINS] [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}
PORT=${2:-5354}
DIR=${DIR:-target/nsd}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
command -v nsd >/dev/null || { echo "nsd is not installed: apt-get install nsd dnsperf" >&2; exit 2; }
cargo build --release --quiet --bin mailscrub

# One zone, com., holding every domain's MX and its own mail host's A record (public-looking
# addresses, so that the class is `mx`, as for a real company domain).
{
  echo '$ORIGIN com.'
  echo '$TTL 3600'
  echo '@ IN SOA ns.bench-zone.com. hostmaster.bench-zone.com. 1 3600 600 86400 300'
  echo '@ IN NS ns.bench-zone.com.'
  echo 'ns.bench-zone IN A 127.0.0.1'
  awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
    printf "bench-%d IN MX 10 mx.bench-%d.com.\n", i, i
    printf "mx.bench-%d IN A 11.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
  } }'
} > "$DIR/com.zone"
cat > "$DIR/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$PORT
  username: ""
  chroot: ""
  zonesdir: "$DIR"
  database: ""
  zonelistfile: "$DIR/zone.list"
  xfrdfile: "$DIR/xfrd.state"
  pidfile: "$DIR/nsd.pid"
  logfile: "$DIR/nsd.log"
  server-count: 1
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: com.
  zonefile: com.zone
EOF
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "bench-%d.com\n", i }' > "$DIR/domains.txt"
awk '{ print $1 " MX" }' "$DIR/domains.txt" > "$DIR/queries.txt"

nsd -c "$DIR/nsd.conf"
trap 'kill "$(cat "$DIR/nsd.pid")" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  target/release/mailscrub resolve --dns-server "127.0.0.1:$PORT" --dns-timeout 0.2 --dns-attempts 1 bench-1.com \
    | grep -q '"class":"mx"' && break
  sleep 0.2
done

t() { /usr/bin/time -f "%e s, %M KB peak" "$@"; }
echo "== $N domains, each with its own MX host; NSD $(nsd -v 2>&1 | head -1 | awk '{print $3}') on 127.0.0.1:$PORT"
for engine in wire hickory; do
  for _ in 1 2 3; do
    echo "-- mailscrub resolve, $engine"
    t target/release/mailscrub resolve --dns-server "127.0.0.1:$PORT" --dns-engine "$engine" \
      < "$DIR/domains.txt" > "$DIR/answers-$engine.jsonl"
  done
  echo "classes ($engine): $(grep -o '"class":"[a-z_]*"' "$DIR/answers-$engine.jsonl" | sort | uniq -c | tr '\n' ' ')"
done
if command -v dnsperf >/dev/null; then
  echo "-- dnsperf, MX queries only (the ceiling)"
  dnsperf -s 127.0.0.1 -p "$PORT" -d "$DIR/queries.txt" -c 8 -q 512 -l 10 | grep -E "Queries (sent|completed)|Queries per second"
  # The server's ceiling moves by a third within an hour on a shared machine: the ratio is taken
  # pair by pair, dnsperf right before each mailscrub run, and the median of the pairs given.
  echo "-- pairs: dnsperf for 5 s, then mailscrub resolve (wire)"
  ratios=()
  for _ in 1 2 3 4 5; do
    qps=$(dnsperf -s 127.0.0.1 -p "$PORT" -d "$DIR/queries.txt" -c 8 -q 512 -l 5 \
      | awk '/Queries per second/ { print $4 }')
    secs=$( { /usr/bin/time -f "%e" target/release/mailscrub resolve --dns-server "127.0.0.1:$PORT" \
      < "$DIR/domains.txt" > /dev/null; } 2>&1 | tail -1)
    ratio=$(awk -v n="$N" -v s="$secs" -v q="$qps" 'BEGIN { printf "%.1f", 100 * n / s / q }')
    echo "dnsperf $qps queries/s; mailscrub $secs s = $(awk -v n="$N" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') domains/s: $ratio%"
    ratios+=("$ratio")
  done
  echo "median of the pairs: $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n 3p)% of dnsperf's queries/s, in domains/s"
fi
