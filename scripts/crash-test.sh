#!/usr/bin/env bash
# Crash test, one command: installs what it needs (sqlite3, Dovecot, aiosmtpd), builds
# release binaries, then runs scripts/crash-test.py: signed orders, refunds, clicks and
# IMAP mail at load while the daemon is SIGKILLed N times (default 20) and restarted;
# prints the counts it checked. Usage: scripts/crash-test.sh [kills] [mails] [--postgres]
# (--postgres: two daemons on one PostgreSQL database, killed alternately; the server is
# started by scripts/postgres.sh, which installs it when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd dovecot-lmtpd)
python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet --locked --bin promoterd --example loadgen
exec python3 scripts/crash-test.py "$@"
