#!/usr/bin/env bash
# Load benchmark, one command: installs what it needs (wrk, sqlite3, Dovecot, aiosmtpd),
# builds release binaries, then runs scripts/load.py, which builds a 1M-order data set
# and prints every measure next to its baseline from the same run, with the ratio.
# Usage: scripts/load.sh [--orders N] [--secs S] [--webhook-orders N] [--emails N]
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pair in wrk:wrk sqlite3:sqlite3 dovecot:dovecot-imapd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-lmtpd)
python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet --locked --bin promoterd --example redirect_baseline --example webhook_baseline --example loadgen
exec python3 scripts/load.py "$@"
