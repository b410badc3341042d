#!/usr/bin/env python3
"""Crash test: a release daemon takes signed orders, refunds, clicks and IMAP replies at
load while it is killed with SIGKILL at random moments, N times, and restarted; its
outbox (invites and replies) is sent through SMTP into Dovecot meanwhile. Afterwards it
checks every count below and `PRAGMA integrity_check`. Run through scripts/crash-test.sh.

With --postgres: the data set built on SQLite is moved to a fresh PostgreSQL database
(scripts/postgres.sh, `promoterd migrate-db`), and two daemons share it, both under
order, refund and click load, killed alternately (the jobs' holder every other time or
so: mail, outbox and digests move between them). The same counts are checked there.
"""

import http.client
import imaplib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (helpers: config, daemon binaries, signing secret)
import fake_chat  # noqa: E402

import hashlib
import hmac

POSTGRES = "--postgres" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "--postgres"]
KILLS = int(ARGS[0]) if len(ARGS) > 0 else 20
MAILS = int(ARGS[1]) if len(ARGS) > 1 else 1500
INVITES = 200
PAYOUT_MAILS = 300  # `markpaid <promoter> 0.01 <reference>` mails among the others: each pays once
PAST_ORDERS = 400  # sales of an event whose commissions are due, 4.90 each
IN_FLIGHT = 8  # outbox mails sent at once: the most a kill can make us resend
CHAT_PEOPLE = 600  # promoters whose daily digest is due, half on Telegram, half on Discord
TELEGRAM_BASE, DISCORD_BASE = 5_000_000, 6_000_000_000


def sign(body):
    t = int(time.time())
    mac = hmac.new(load.SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def q(db, sql, *args):
    """Rows of a query on the SQLite file `db`, or on the PostgreSQL database at the URL
    `db` (through psql: numbers read as ints, t/f as truth values, NULL as None)."""
    if db.startswith("postgres://"):
        return pg_rows(db, sql, args)
    con = sqlite3.connect(db, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def pg_rows(url, sql, args):
    parts = sql.split("?")
    assert len(parts) == len(args) + 1, sql
    text = parts[0] + "".join("'" + str(a).replace("'", "''") + "'" + rest for a, rest in zip(args, parts[1:]))
    out = subprocess.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-AtF", "\x1f", "-P", "null=\x1e", "-c", text],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql: {out.stderr}\n{text}")

    def value(v):
        if v == "\x1e":
            return None
        if v in ("t", "f"):
            return v == "t"
        return int(v) if re.fullmatch(r"-?\d+", v) else v
    return [tuple(value(v) for v in line.split("\x1f")) for line in out.stdout.splitlines()]


def pg_config(config, home, name, url):
    """A copy of `config` on the PostgreSQL database `url`, on ports of its own."""
    text = open(config).read()
    port, metrics = load.free_port(), load.free_port()
    text = re.sub(r'\nlisten = "127\.0\.0\.1:\d+"', f'\nlisten = "127.0.0.1:{port}"', text)
    text = re.sub(r'metrics_listen = "127\.0\.0\.1:\d+"', f'metrics_listen = "127.0.0.1:{metrics}"', text)
    assert "\npool_size = 10" in text
    text = text.replace("\npool_size = 10", f'\nurl = "{url}"\npool_size = 10')
    path = os.path.join(home, f"{name}.toml")
    open(path, "w").write(text)
    return path, port


def to_postgres(home, db, config):
    """Starts a PostgreSQL server, moves the SQLite database there; the server's
    directory, the database URL and two daemons' (config, port)."""
    pgdir = os.path.join(home, "pgsrv")
    load.run(["bash", os.path.join(load.ROOT, "scripts", "postgres.sh"), "start", pgdir])
    try:
        admin = open(os.path.join(pgdir, "pg.env")).read().strip().split("=", 1)[1]
        load.run(["psql", admin, "-qc", "CREATE DATABASE crash"])
        url = admin.rsplit("/", 1)[0] + "/crash"
        load.run([load.PROMOTERD, "--config", config, "migrate-db", "--from", db, "--to", url])
    except BaseException:
        # The caller does not know the server yet: stop it here.
        subprocess.run(["bash", os.path.join(load.ROOT, "scripts", "postgres.sh"), "stop", pgdir], check=False)
        raise
    return pgdir, url, [pg_config(config, home, name, url) for name in ("a", "b")]


class Load:
    """Refunds and clicks from threads while loadgen sends orders."""

    def __init__(self, port, ref, acked_files):
        self.port, self.ref, self.acked_files = port, ref, acked_files
        self.stop = threading.Event()
        self.refunds_acked = set()
        self.clicks = 0

    def refunds(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop.is_set():
            acked = []
            for path in self.acked_files:
                try:
                    acked += open(path).read().split()
                except FileNotFoundError:
                    pass
            todo = [o for o in acked[::7] if o not in self.refunds_acked][:20]
            if not todo:
                time.sleep(0.01)
                continue
            for order in todo:
                body = json.dumps({"id": f"refund-{order}", "type": "order.refunded", "order": {
                    "id": order, "event": "crash-fest", "created_at": "2099-05-01T10:00:00Z",
                    "updated_at": "2099-05-02T10:00:00Z"}})
                try:
                    conn.request("POST", "/webhooks/orders", body, {"content-type": "application/json",
                                                                     "promoterd-signature": sign(body)})
                    r = conn.getresponse()
                    r.read()
                    if r.status in (200, 202):
                        self.refunds_acked.add(order)
                except OSError:
                    return
                except http.client.HTTPException:
                    return

    def click(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop.is_set():
            try:
                conn.request("GET", f"/t/{self.ref}", headers={"user-agent": "Mozilla/5.0 crash"})
                r = conn.getresponse()
                r.read()
                if r.status == 302:
                    self.clicks += 1
            except (OSError, http.client.HTTPException):
                return


def message_ids(imap_port, user):
    m = imaplib.IMAP4("127.0.0.1", imap_port)
    m.login(user, "pass")
    _, count = m.select("INBOX")
    if int(count[0]) == 0:
        m.logout()
        return []
    _, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    m.logout()
    ids = []
    for part in data:
        if isinstance(part, tuple):
            found = re.search(rb"Message-ID:\s*(<[^>]+>)", part[1], re.I)
            if found:
                ids.append(found.group(1).decode())
    return ids


def seed_chat_people(db, tag):
    """Promoters with a linked chat account and a daily digest that is due now. Bulk SQL,
    as the load benchmark seeds its data set: the daemon is not running yet."""
    con = sqlite3.connect(db)
    past = "2026-01-01T00:00:00Z"
    org = con.execute("SELECT id FROM organizations").fetchone()[0]
    with con:
        for i in range(CHAT_PEOPLE):
            telegram = i % 2 == 0
            person = con.execute("INSERT INTO people (email, display_name, verified_at, created_at) "
                                 "VALUES (?, ?, ?, ?)", (f"chat{i}-{tag}@example.test", f"Chat {i}", past, past)).lastrowid
            con.execute("INSERT INTO memberships (org_id, event_id, person_id, status, created_at, updated_at) "
                        "VALUES (?, NULL, ?, 'active', ?, ?)", (org, person, past, past))
            platform, external = ("telegram", TELEGRAM_BASE + i) if telegram else ("discord", DISCORD_BASE + i)
            con.execute("INSERT INTO chat_accounts (platform, external_id, person_id, username, linked_at) "
                        "VALUES (?, ?, ?, ?, ?)", (platform, str(external), person, f"chat{i}", past))
            con.execute("INSERT INTO preferences (person_id, channel, digest, digest_hour, notify) "
                        "VALUES (?, ?, 'daily', 0, 1)", (person, platform))
    con.close()


def main():
    mdir = tempfile.mkdtemp(prefix="promoterd-crash-mail-")
    imap, smtp = load.mail_servers("start", mdir)
    home = tempfile.mkdtemp(prefix="promoterd-crash-")
    chat = fake_chat.FakeChat()
    daemon, daemons, pgdir = None, [], None
    try:
        tag = f"{random.randrange(16**8):08x}"
        bot, owner = f"bot-{tag}@example.test", f"owner-{tag}@example.test"
        port = load.free_port()
        config = load.write_mail_config(home, port, imap, smtp, bot,
                                        [("commands_per_minute = 30", "commands_per_minute = 100000")])
        telegram, discord = chat.config()
        text = open(config).read()
        for old, new in [("[telegram]\n", "[telegram]\n" + telegram), ("poll_timeout_seconds = 15", "poll_timeout_seconds = 1"),
                         ("[discord]\n", "[discord]\n" + discord), ('mode = "gateway"', 'mode = "endpoint"')]:
            assert old in text, old
            text = text.replace(old, new)
        open(config, "w").write(text)
        db = os.path.join(home, "promoterd.db")
        load.run([load.PROMOTERD, "--config", config, "org", "create", "Crash Org", "--owner", owner])
        promoters = [f"p{i}-{tag}@example.test" for i in range(INVITES)]
        load.console(config, owner, ['newevent crash-fest "2099-06-01 18:00" https://tickets.example.com/c Crash Fest']
                     + [f"invite {p} crash-fest" for p in promoters])
        code = re.search(r"/accept ([a-z0-9]+)", q(db, "SELECT body FROM outbox WHERE recipient = ?", promoters[0])[0][0])
        out = load.run([load.PROMOTERD, "--config", config, "console", "--as", promoters[0], "--out-dir", home,
                        "-c", f"accept {code.group(1)}"])
        ref = re.search(r"/t/([a-z0-9]+)", out).group(1)
        seed_chat_people(db, tag)
        # Commissions due to promoter 0 on a past event; crash-fest accrues under the load.
        load.console(config, owner, ['newevent done-fest "2020-06-01 18:00" https://tickets.example.com/d Done Fest',
                                     f"invite {promoters[0]} done-fest", "commissionpolicy --hold 0",
                                     "setcommission 10%"])
        code2 = re.search(r"/accept ([a-z0-9]+)", q(db, "SELECT body FROM outbox WHERE recipient = ? ORDER BY id DESC",
                                                    promoters[0])[0][0])
        out = load.run([load.PROMOTERD, "--config", config, "console", "--as", promoters[0], "--out-dir", home,
                        "-c", f"accept {code2.group(1)}"])
        done_ref = re.search(r"/t/([a-z0-9]+)", out).group(1)
        sales = os.path.join(home, "done.csv")
        with open(sales, "w") as f:
            f.write("order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n")
            for i in range(PAST_ORDERS):
                f.write(f"done-{i},done-fest,paid,2021-01-01T10:00:00Z,{done_ref},General Admission,1,4900,EUR\n")
        load.run([load.PROMOTERD, "--config", config, "import-orders", sales])
        load.console(config, owner, ["recompute done-fest"])
        # Organizer mails waiting in the bot's mailbox: each asks for stats, each gets a reply.
        m = imaplib.IMAP4("127.0.0.1", imap)
        m.login(bot, "pass")
        sent_mail_ids = []

        def stats_mail(i):
            mid = f"<crash-{tag}-{i}@client.test>"
            sent_mail_ids.append(mid)
            m.append("INBOX", None, None, (f"From: {owner}\r\nTo: {bot}\r\nSubject: numbers {i}\r\nMessage-ID: {mid}\r\n"
                                           "Content-Type: text/plain\r\n\r\nstats crash-fest\r\n").encode())

        stats_mail(0)
        m.logout()

        acked_file = os.path.join(home, "acked")
        daemon_log = open(os.path.join(home, "daemon.log"), "a")
        # A command that changes things comes by mail as a reply to one of ours: the
        # answer to the first `stats` mail is the thread the `markpaid` mails reply to.
        daemon = load.Daemon(config, port, cpu=None, log=daemon_log)
        deadline = time.time() + 120
        while not (answer := q(db, "SELECT message_id FROM outbox WHERE in_reply_to = ?", sent_mail_ids[0].strip("<>"))):
            if time.time() > deadline:
                sys.exit("no answer to the first mail")
            time.sleep(0.05)
        daemon.stop()
        daemon = None
        m = imaplib.IMAP4("127.0.0.1", imap)
        m.login(bot, "pass")
        for i in range(1, MAILS):
            stats_mail(i)
        for i in range(PAYOUT_MAILS):
            mid = f"<crash-pay-{tag}-{i}@client.test>"
            sent_mail_ids.append(mid)
            m.append("INBOX", None, None, (f"From: {owner}\r\nTo: {bot}\r\nSubject: Re: numbers\r\nMessage-ID: {mid}\r\n"
                                           f"In-Reply-To: {answer[0][0]}\r\nContent-Type: text/plain\r\n\r\n"
                                           f"markpaid {promoters[0]} 0.01 crash-pay-{i}\r\n").encode())
        m.logout()
        pgdir, sites = None, [(config, port)]
        if POSTGRES:
            pgdir, db, sites = to_postgres(home, db, config)
            print(f"moved to PostgreSQL; two daemons on ports {sites[0][1]} and {sites[1][1]}")
        clicks_answered, refunds_acked = 0, set()
        acked_files = [f"{acked_file}-{i}" for i in range(len(sites))]
        daemons = [None] * len(sites)
        print(f"{KILLS} kills:", end=" ", flush=True)
        for round_no in range(1, KILLS + 1):
            # Every daemon runs; the round's victim alternates between them.
            for i, (cfg, p) in enumerate(sites):
                if daemons[i] is None:
                    daemons[i] = load.Daemon(cfg, p, cpu=None, log=daemon_log)
            victim = round_no % len(sites)
            loads, orders = [], []
            for i, (cfg, p) in enumerate(sites):
                orders.append(subprocess.Popen(
                    [load.LOADGEN, "orders", f"http://127.0.0.1:{p}", "32", "1000000", load.SECRET, "crash-fest", ref],
                    env=dict(os.environ, RUN_ID=f"crash{round_no}d{i}", ACK_LOG=acked_files[i]),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                extra = Load(p, ref, acked_files)
                extra.refunds_acked = refunds_acked
                loads.append((extra, [threading.Thread(target=extra.refunds), threading.Thread(target=extra.click)]))
            for _, threads in loads:
                for t in threads:
                    t.start()
            time.sleep(random.uniform(0.3, 1.5))
            daemons[victim].proc.send_signal(signal.SIGKILL)
            daemons[victim].proc.wait()
            daemons[victim] = None
            # The survivor's load stops too: a round's numbers are counted at its end.
            for extra, threads in loads:
                extra.stop.set()
                for t in threads:
                    t.join()
                clicks_answered += extra.clicks
            for o in orders:
                if o.poll() is None:
                    o.terminate()
                o.wait()
            print(round_no, end=" ", flush=True)
        print()
        # A last run drains the mailbox and the outbox, then stops gracefully.
        for i, (cfg, p) in enumerate(sites):
            if daemons[i] is None:
                daemons[i] = load.Daemon(cfg, p, cpu=None, log=daemon_log)
        deadline = time.time() + 600
        while time.time() < deadline:
            processed = q(db, "SELECT count(*) FROM mail_processed")[0][0]
            unsent = q(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")[0][0]
            if processed >= MAILS + PAYOUT_MAILS and unsent == 0:
                break
            time.sleep(0.2)
        for d in daemons:
            d.stop()
        daemons = [None] * len(sites)

        results = []

        def check(label, value, ok):
            results.append(ok)
            print(f"{label}: {value}{'' if ok else '   <-- FAIL'}")

        acked = set()
        for path in acked_files:
            if os.path.exists(path):
                acked |= set(open(path).read().split())
        stored = {r[0] for r in q(db, "SELECT external_id FROM orders")}
        print(f"kills: {KILLS}" + (" (two daemons on PostgreSQL, killed alternately)" if POSTGRES else ""))
        check("orders acknowledged (2xx) / stored", f"{len(acked)} / {len(stored)}", True)
        check("acknowledged orders missing", f"{len(acked - stored)} {sorted(acked - stored)[:10]}", not (acked - stored))
        foreign = [o for o in stored if not re.fullmatch(r"load-crash\d+(d\d)?-\d+|done-\d+", o)]
        check("stored orders never sent", len(foreign), not foreign)
        refunded = {r[0] for r in q(db, "SELECT external_id FROM orders WHERE status = 'refunded'")}
        check("refunds acknowledged / not applied", f"{len(refunds_acked)} / {len(refunds_acked - refunded)}",
              not (refunds_acked - refunded))
        bad_lines = q(db, "SELECT count(*) FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE "
                          "(o.status = 'refunded') <> (l.refunded_quantity = l.quantity) OR l.refunded_quantity < 0")[0][0]
        check("order lines whose refund was applied other than once", bad_lines, bad_lines == 0)
        recount = q(db, "SELECT count(*) FROM (SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), "
                        "l.ticket_type_id, count(*), sum(l.quantity), sum(l.quantity - l.refunded_quantity) FROM orders o "
                        "JOIN order_lines l ON l.order_id = o.id WHERE o.status <> 'cancelled' GROUP BY 1, 2, 3, 4 EXCEPT "
                        "SELECT event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets FROM sales_totals "
                        "WHERE lines > 0) AS differing")[0][0]
        check("running stats totals differing from a recount", recount, recount == 0)
        processed = q(db, "SELECT count(*), count(DISTINCT message_key) FROM mail_processed")[0]
        mails = MAILS + PAYOUT_MAILS
        check("mails in / processed (distinct)", f"{mails} / {processed[0]} ({processed[1]})",
              processed[0] == mails and processed[1] == mails)
        replies = q(db, "SELECT count(*), count(DISTINCT in_reply_to) FROM outbox WHERE in_reply_to IS NOT NULL")[0]
        check("replies queued (distinct mails answered)", f"{replies[0]} ({replies[1]})",
              replies[0] == mails and replies[1] == mails)
        payouts = q(db, "SELECT count(*), count(DISTINCT reference), coalesce(sum(amount_minor), 0) FROM payouts")[0]
        check("markpaid mails / payouts recorded (distinct references) / paid (minor units)",
              f"{PAYOUT_MAILS} / {payouts[0]} ({payouts[1]}) / {payouts[2]}",
              payouts[0] == payouts[1] == payouts[2] == PAYOUT_MAILS)
        lines = q(db, "SELECT coalesce(sum(amount_minor), 0) FROM payout_lines")[0][0]
        check("payout lines sum to the payouts", lines, lines == payouts[2])
        # Every attributed order's ledger equals 10% of its net amount per ticket type,
        # rounded half up, after refunds under load and kills at any moment.
        off = q(db, "SELECT count(*) FROM (SELECT o.id, coalesce((SELECT sum(c.amount_minor) FROM commission_entries c "
                    "WHERE c.order_id = o.id), 0) AS booked, CASE WHEN o.status = 'cancelled' OR o.self_referral "
                    "THEN 0 ELSE (SELECT coalesce(sum(v), 0) FROM (SELECT (CAST(sum((l.quantity - l.refunded_quantity) "
                    "* l.unit_price_minor) AS BIGINT) * 1000 + 5000) / 10000 AS v FROM order_lines l "
                    "WHERE l.order_id = o.id GROUP BY l.ticket_type_id) AS per_type) END AS want FROM orders o "
                    "WHERE o.membership_id IS NOT NULL) AS per_order WHERE booked <> want")[0][0]
        accrued = q(db, "SELECT count(DISTINCT order_id) FROM commission_entries")[0][0]
        check("orders whose commission differs from a recount (orders with entries)", f"{off} ({accrued})",
              off == 0 and accrued >= PAST_ORDERS)
        drift = q(db, "SELECT count(*) FROM (SELECT event_id, person_id, ticket_type_id, sum(amount_minor) FROM "
                      "commission_entries GROUP BY 1, 2, 3 EXCEPT SELECT event_id, person_id, ticket_type_id, "
                      "amount_minor FROM commission_totals) AS differing")[0][0]
        drift += q(db, "SELECT count(*) FROM (SELECT person_id, event_id, sum(amount_minor) FROM commission_entries "
                       "GROUP BY 1, 2 EXCEPT SELECT person_id, event_id, amount_minor FROM commission_balances) AS differing")[0][0]
        check("commission totals and balances differing from a recount", drift, drift == 0)
        # An invite answered before its mail went out is dropped on purpose (failed_at set).
        written = {r[0]: r[1] for r in q(db, "SELECT message_id, recipient FROM outbox WHERE channel = 'email' "
                                             "AND failed_at IS NULL")}
        dropped = q(db, "SELECT count(*) FROM outbox WHERE channel = 'email' AND failed_at IS NOT NULL "
                        "AND last_error LIKE 'dropped before sending%'")[0][0]
        check("invite mails dropped unsent (answered before they went out)", dropped, True)
        delivered = []
        for user in set(written.values()):
            delivered += message_ids(imap, user)
        lost = set(written) - set(delivered)
        dupes = len(delivered) - len(set(delivered))
        check("outbox written / delivered (distinct)", f"{len(written)} / {len(set(delivered) & set(written))}",
              not lost)
        check("outbox lost", len(lost), not lost)
        check(f"outbox delivered twice (same Message-ID; at most {IN_FLIGHT} per kill)", dupes,
              dupes <= KILLS * IN_FLIGHT)
        digests = q(db, "SELECT count(*), count(DISTINCT person_id) FROM digest_runs WHERE person_id IN "
                        "(SELECT person_id FROM chat_accounts)")[0]
        chat_rows = q(db, "SELECT channel, recipient, failed_at IS NOT NULL FROM outbox WHERE channel <> 'email'")
        check("chat digests due / claimed (distinct people) / queued",
              f"{CHAT_PEOPLE} / {digests[0]} ({digests[1]}) / {len(chat_rows)}",
              digests[0] == digests[1] == len(chat_rows) == CHAT_PEOPLE)
        failed = sum(1 for r in chat_rows if r[2])
        check("chat messages given up (sent by email instead)", failed, failed == 0)
        with chat.lock:
            tg_got = [str(c) for c, _ in chat.telegram]
            dc_posts = [c for c, _ in chat.discord_posts]
            dc_shown = list(chat.discord_created.values())
        for channel, got, bound in [("telegram", tg_got, KILLS), ("discord", dc_shown, 0)]:
            written = [str(r[1]) for r in chat_rows if r[0] == channel]
            lost = set(written) - set(got)
            twice = len(got) - len(set(got))
            check(f"{channel}: outbox written / delivered (distinct) / lost", f"{len(written)} / {len(set(got))} / {len(lost)}",
                  not lost and len(written) == CHAT_PEOPLE // 2)
            why = "at most 1 per kill: one send at a time" if bound else "Discord drops a repeated nonce"
            check(f"{channel}: shown twice ({why})", twice, twice <= bound)
        check("discord: message posts (resends after a kill included)", len(dc_posts), True)
        clicks_stored = q(db, "SELECT coalesce(sum(clicks), 0) FROM clicks")[0][0]
        check("clicks answered / stored (buffered clicks die with the process)",
              f"{clicks_answered} / {clicks_stored}", True)
        if not POSTGRES:
            integrity = q(db, "PRAGMA integrity_check")[0][0]
            check("integrity_check", integrity, integrity == "ok")
        print("crash test:", "PASS" if all(results) else "FAIL")
        sys.exit(0 if all(results) else 1)
    finally:
        for d in [daemon] + daemons:
            if d:
                d.proc.kill()
        chat.close()
        if pgdir:
            subprocess.run(["bash", os.path.join(load.ROOT, "scripts", "postgres.sh"), "stop", pgdir], check=False)
        load.mail_servers("stop", mdir)


if __name__ == "__main__":
    main()
