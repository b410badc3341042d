#!/usr/bin/env bash
# Real mail servers for the tests, on loopback, in a private directory, without systemd:
# Dovecot (IMAP + LMTP, any user@example.test, password "pass") and an SMTP relay
# (aiosmtpd) that delivers each recipient into Dovecot over LMTP.
#   scripts/mail-servers.sh start DIR   -> writes DIR/env (PROMOTERD_TEST_* variables)
#   scripts/mail-servers.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?directory}
here=$(cd "$(dirname "$0")" && pwd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() {
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))"; then return 0; fi
    sleep 0.05
  done
  echo "mail-servers: port $1 did not open" >&2; return 1
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # Dovecot's processes must traverse every parent directory.
  p="$dir"; while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
  id vmail >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin vmail
  uid=$(id -u vmail); gid=$(id -g vmail)
  mkdir -p "$dir/run" "$dir/state" "$dir/mail"
  chown vmail:vmail "$dir/mail"
  imap=$(free_port); lmtp=$(free_port); smtp=$(free_port)
  cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
instance_name = promoterd-test-$imap
protocols = imap lmtp
listen = 127.0.0.1
log_path = $dir/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $uid
mail_location = maildir:~/Maildir
postmaster_address = postmaster@example.test
recipient_delimiter = +
passdb {
  driver = static
  args = password=pass
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$dir/mail/%d/%n allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
CONF
  dovecot -c "$dir/dovecot.conf"
  /usr/bin/python3 "$here/smtp-relay.py" "$smtp" "$lmtp" >"$dir/smtp.log" 2>&1 &
  echo $! > "$dir/smtp.pid"
  wait_port "$imap"; wait_port "$lmtp"; wait_port "$smtp"
  cat > "$dir/env" <<ENV
export PROMOTERD_TEST_IMAP_PORT=$imap
export PROMOTERD_TEST_SMTP_PORT=$smtp
export PROMOTERD_TEST_MAIL_DIR=$dir
ENV
  echo "mail-servers: IMAP 127.0.0.1:$imap, SMTP 127.0.0.1:$smtp (LMTP $lmtp), logs in $dir"
  ;;
stop)
  [ -f "$dir/dovecot.conf" ] && doveadm -c "$dir/dovecot.conf" stop 2>/dev/null || true
  [ -f "$dir/smtp.pid" ] && kill "$(cat "$dir/smtp.pid")" 2>/dev/null || true
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
