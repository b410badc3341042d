#!/usr/bin/env bash
# The full test suite, as CI runs it: formatting, lints, unit and integration tests, then
# the integration suite again on PostgreSQL. Installs what the tests need (Debian
# packages: Dovecot, an SMTP relay, PostgreSQL) when missing, starts real mail servers
# and a PostgreSQL on loopback in a private directory, and stops them at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd dovecot-lmtpd)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== starting mail servers and PostgreSQL"
MAIL_DIR=$(mktemp -d /tmp/promoterd-mail.XXXXXX)
trap 'bash scripts/mail-servers.sh stop "$MAIL_DIR"; bash scripts/postgres.sh stop "$MAIL_DIR"; rm -rf "$MAIL_DIR"' EXIT
bash scripts/mail-servers.sh start "$MAIL_DIR"
# shellcheck disable=SC1091
source "$MAIL_DIR/env"
bash scripts/postgres.sh start "$MAIL_DIR"
# shellcheck disable=SC1091
source "$MAIL_DIR/pg.env"

echo "== cargo test"
# The runner's own last line is that of the last target (an example with no tests):
# a summary of every target closes the run.
set +e
cargo test --locked --all-targets 2>&1 | tee "$MAIL_DIR/cargo-test.log"
status=${PIPESTATUS[0]}
echo "== cargo test --test it, on PostgreSQL"
PROMOTERD_TEST_DB=postgres cargo test --locked --test it 2>&1 | tee "$MAIL_DIR/cargo-test-pg.log"
pg_status=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$pg_status
set -e
awk '/^test result:/ { p += $4; f += $6 } END { printf "summary: %d passed, %d failed\n", p, f }' \
  "$MAIL_DIR/cargo-test.log" "$MAIL_DIR/cargo-test-pg.log"
exit "$status"
