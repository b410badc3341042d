#!/usr/bin/env bash
# Load benchmark: release builds of promoterd and of a minimal axum baseline, driven by
# the same load generator in the same run; prints requests/s, p50/p99 and the ratio
# against the baseline. Uses wrk (Debian package) for redirects when it is available.
# Usage: scripts/load.sh [seconds per redirect run, default 10] [orders, default 5000]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ORDERS=${2:-5000}
CONC=64

missing=()
for tool in wrk sqlite3 curl; do command -v $tool >/dev/null 2>&1 || missing+=($tool); done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) || true
fi

cargo build --release --quiet --bin promoterd --example redirect_baseline --example loadgen
BIN=target/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
SECRET="load-secret-0123456789abcdef"
PORT=18080
BASE_PORT=18081
sed -e "s/listen = \"127.0.0.1:8080\"/listen = \"127.0.0.1:$PORT\"/" \
    -e "s/secrets = \[\]/secrets = [\"$SECRET\"]/" config.example.toml > "$WORK/config.toml"
P="$BIN/promoterd --config $WORK/config.toml"

# A realistic data set: one organization, 20 promoters, an event with two ticket types.
$P org create "Load Test Org" --owner owner@load.test >/dev/null
$P console --as owner@load.test -c 'newevent load-fest "2099-06-01 18:00" https://tickets.example.com/load Load Fest' >/dev/null
$P console --as owner@load.test -c 'newtickettype load-fest 49 General Admission' >/dev/null
for i in $(seq 1 20); do
  $P console --as owner@load.test -c "invite p$i@load.test load-fest" >/dev/null
  code=$(sqlite3 "$WORK/promoterd.db" "SELECT body FROM outbox WHERE recipient='p$i@load.test' ORDER BY id DESC LIMIT 1" \
    | sed -n 's/.*\/accept \([a-z0-9]*\).*/\1/p')
  $P console --as "p$i@load.test" -c "accept $code" >/dev/null
done
REF=$($P console --as p1@load.test --out-dir "$WORK" -c 'mylink load-fest' | sed -n 's/.*\/t\/\([a-z0-9]*\).*/\1/p' | head -1)

taskset_server=""; taskset_client=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  taskset_server="taskset -c 0"; taskset_client="taskset -c 1"
fi
$taskset_server $BIN/examples/redirect_baseline "127.0.0.1:$BASE_PORT" "$REF" & 
RUST_LOG=warn $taskset_server $P run & 
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && curl -s -o /dev/null "http://127.0.0.1:$BASE_PORT/t/$REF" && break
  sleep 0.1
done

redirect_run() { # name url
  if command -v wrk >/dev/null 2>&1; then
    out=$($taskset_client wrk -t1 -c$CONC -d"${SECS}s" --latency -H "User-Agent: Mozilla/5.0 load" "$2?utm_source=load")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    bad=$(echo "$out" | awk '/Non-2xx or 3xx/ {print $5}')
    echo "$1: tool=wrk rps=$rps p50=$p50 p99=$p99 non_3xx=${bad:-0}"
  else
    echo "$1: tool=loadgen $($taskset_client $BIN/examples/loadgen redirect "$2" $CONC "$SECS" | cut -d: -f2)"
  fi
}

echo "== redirects, $CONC connections, ${SECS}s each"
B=$(redirect_run baseline "http://127.0.0.1:$BASE_PORT/t/$REF"); echo "$B"
D=$(redirect_run promoterd "http://127.0.0.1:$PORT/t/$REF"); echo "$D"
awk -v b="$B" -v d="$D" 'BEGIN { split(b, x, "rps="); split(x[2], y, " "); split(d, u, "rps="); split(u[2], v, " ");
  if (y[1] > 0) printf "ratio: promoterd/baseline redirects/s = %.2f\n", v[1] / y[1] }'

echo "== signed order webhooks, $ORDERS orders, 64 connections"
OB=$($taskset_client $BIN/examples/loadgen orders "http://127.0.0.1:$BASE_PORT" 64 "$ORDERS" "$SECRET" load-fest "$REF"); echo "baseline $OB"
OD=$($taskset_client $BIN/examples/loadgen orders "http://127.0.0.1:$PORT" 64 "$ORDERS" "$SECRET" load-fest "$REF"); echo "promoterd $OD"
awk -v b="$OB" -v d="$OD" 'BEGIN { split(b, x, "rps="); split(x[2], y, " "); split(d, u, "rps="); split(u[2], v, " ");
  if (y[1] > 0) printf "ratio: promoterd/baseline orders/s = %.2f\n", v[1] / y[1] }'

echo "== click outcomes (from /metrics)"
curl -s "http://127.0.0.1:$PORT/metrics" | grep '^promoterd_clicks_total' || true
kill -TERM %2 2>/dev/null || true
wait %2 2>/dev/null || true
echo "== after graceful shutdown"
sqlite3 "$WORK/promoterd.db" "SELECT 'clicks stored: ' || coalesce(sum(clicks), 0) FROM clicks; SELECT 'orders stored: ' || count(*) FROM orders;"
