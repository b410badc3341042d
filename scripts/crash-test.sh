#!/usr/bin/env bash
# Crash test: a release daemon takes signed orders under load while it is killed with
# SIGKILL at random moments, N times (default 20), and restarted. Afterwards every order
# that got a 2xx must be in the database exactly once, no order may exist that was never
# sent, and `PRAGMA integrity_check` must say ok. Usage: scripts/crash-test.sh [kills]
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${1:-20}
for tool in sqlite3 curl; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 2; }; done

cargo build --release --quiet --bin promoterd --example loadgen
BIN=target/release
WORK=$(mktemp -d)
trap 'pkill -9 -f "$WORK/config.toml" 2>/dev/null || true; rm -rf "$WORK"' EXIT
SECRET="crash-secret-0123456789abcdef"
PORT=18180
sed -e "s/listen = \"127.0.0.1:8080\"/listen = \"127.0.0.1:$PORT\"/" \
    -e "s/secrets = \[\]/secrets = [\"$SECRET\"]/" config.example.toml > "$WORK/config.toml"
P="$BIN/promoterd --config $WORK/config.toml"
$P org create "Crash Org" --owner owner@crash.test >/dev/null
$P console --as owner@crash.test -c 'newevent crash-fest "2099-06-01 18:00" https://tickets.example.com/crash Crash Fest' >/dev/null
$P console --as owner@crash.test -c 'invite p@crash.test crash-fest' >/dev/null
code=$(sqlite3 "$WORK/promoterd.db" "SELECT body FROM outbox WHERE recipient='p@crash.test'" | sed -n 's/.*\/accept \([a-z0-9]*\).*/\1/p')
REF=$($P console --as p@crash.test --out-dir "$WORK" -c "accept $code" | sed -n 's/.*\/t\/\([a-z0-9]*\).*/\1/p' | head -1)

start_daemon() {
  RUST_LOG=error $P run >>"$WORK/daemon.log" 2>&1 &
  DAEMON=$!
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.02; done
  echo "daemon did not become healthy" >&2; exit 1
}

for round in $(seq 1 "$KILLS"); do
  start_daemon
  RUN_ID="crash$round" ACK_LOG="$WORK/acked" $BIN/examples/loadgen orders "http://127.0.0.1:$PORT" 32 1000000 "$SECRET" crash-fest "$REF" >/dev/null 2>&1 &
  LOAD=$!
  sleep "0.$(( (RANDOM % 8) + 2 ))"
  kill -9 "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
  wait "$LOAD" 2>/dev/null || true
  printf '.'
done
echo
start_daemon
kill -TERM "$DAEMON"; wait "$DAEMON" || true

acked=$(sort -u "$WORK/acked" | wc -l)
sqlite3 "$WORK/promoterd.db" "SELECT external_id FROM orders" | sort > "$WORK/stored"
stored=$(wc -l < "$WORK/stored")
missing=$(sort -u "$WORK/acked" | comm -23 - "$WORK/stored" | wc -l)
foreign=$(grep -cv '^load-crash[0-9]*-[0-9]*$' "$WORK/stored" || true)
dupes=$(sqlite3 "$WORK/promoterd.db" "SELECT count(*) - count(DISTINCT source || '/' || external_id) FROM orders")
lines_ok=$(sqlite3 "$WORK/promoterd.db" "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)")
integrity=$(sqlite3 "$WORK/promoterd.db" "PRAGMA integrity_check")
echo "kills: $KILLS"
echo "orders acknowledged (2xx): $acked"
echo "orders stored: $stored (acknowledged or in flight at a kill)"
echo "acknowledged but missing: $missing"
echo "stored but never sent: $foreign"
echo "stored twice: $dupes"
echo "orders without lines: $lines_ok"
echo "integrity_check: $integrity"
[ "$missing" -eq 0 ] && [ "$foreign" -eq 0 ] && [ "$dupes" -eq 0 ] && [ "$lines_ok" -eq 0 ] && [ "$integrity" = "ok" ] \
  && echo "crash test: PASS" || { echo "crash test: FAIL"; exit 1; }
