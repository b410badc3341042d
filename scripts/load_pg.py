"""The load benchmark on PostgreSQL (issue 20), called by load.py with --postgres: the data
set moved with `promoterd migrate-db` and every number compared, then one table of
SQLite one daemon vs PostgreSQL one daemon vs PostgreSQL two daemons: redirects/s,
webhook orders/s, mystats and stats p99.

Where things run on the two cores: the daemons on core 0 (both, in the two-daemon
column), wrk, loadgen and PostgreSQL's server on core 1."""

import hashlib
import os
import re
import subprocess
import time

# The running load.py: its helpers, and its table of results that this adds to.
import __main__ as L


def start_server(home):
    pgdir = os.path.join(home, "pgsrv")
    L.run(["bash", os.path.join(L.ROOT, "scripts", "postgres.sh"), "start", pgdir])
    admin = open(os.path.join(pgdir, "pg.env")).read().strip().split("=", 1)[1]
    # The postmaster's backends inherit its core.
    pid = open(os.path.join(pgdir, "pg", "data", "postmaster.pid")).readline().strip()
    subprocess.run(["taskset", "-a", "-cp", "1", pid], check=True, stdout=subprocess.DEVNULL)
    return pgdir, admin


def stop_server(pgdir):
    subprocess.run(["bash", os.path.join(L.ROOT, "scripts", "postgres.sh"), "stop", pgdir], check=False)


def pg_config(config, url, home, name):
    """A copy of `config` on PostgreSQL, with ports of its own."""
    text = open(config).read()
    port, metrics = L.free_port(), L.free_port()
    text = re.sub(r'\nlisten = "127\.0\.0\.1:\d+"', f'\nlisten = "127.0.0.1:{port}"', text)
    text = re.sub(r'metrics_listen = "127\.0\.0\.1:\d+"', f'metrics_listen = "127.0.0.1:{metrics}"', text)
    text = text.replace("\npool_size = 10", f'\nurl = "{url}"\npool_size = 10')
    path = os.path.join(home, f"{name}.toml")
    open(path, "w").write(text)
    return path, port


def readings(config):
    """What people read, as text: organizer stats, a promoter's, payouts; and the export's digest."""
    out = []
    for who, line in [(L.OWNER, "stats ev01"), ("p1@load.test", "mystats ev01"), ("p2@load.test", "mystats ev02"),
                      (L.OWNER, "payouts"), ("p3@load.test", "myearnings ev01")]:
        # A refusal (exit 2) is a reading too: it must read the same.
        done = subprocess.run([L.PROMOTERD, "--config", config, "console", "--as", who, "-c", line],
                              capture_output=True, text=True)
        out.append(f"{done.returncode}: {done.stdout}")
    csv = subprocess.run([L.PROMOTERD, "--config", config, "export", "--event", "ev01"], capture_output=True,
                         check=True).stdout
    out.append(f"export: {len(csv)} bytes, sha256 {hashlib.sha256(csv).hexdigest()}")
    return out


def settle_pg(url):
    """Like load.py's settle: until the first scheduler pass has queued everything it owes."""
    last = None
    while True:
        now = L.run(["psql", url, "-Atc", "SELECT (SELECT count(*) FROM outbox) || ',' || "
                     "(SELECT count(*) FROM digest_runs)"]).strip()
        if now == last:
            return
        last = now
        time.sleep(1.0)


def measure(configs_ports, secs, count, code, label, settle):
    """Starts a daemon per (config, port) on core 0, lets its first scheduler pass end,
    and measures the four figures."""
    daemons = [L.Daemon(c, p) for c, p in configs_ports]
    try:
        settle()
        conns = 64 // len(daemons)
        procs = [subprocess.Popen(L.pin(1) + ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", "-H",
                                              "User-Agent: Mozilla/5.0 load", f"http://127.0.0.1:{d.port}/t/{code}"],
                                  stdout=subprocess.PIPE, text=True) for d in daemons]
        rps = sum(float(re.search(r"Requests/sec:\s+([\d.]+)", p.communicate()[0]).group(1)) for p in procs)
        env = dict(os.environ, RUN_ID=f"pg{label.replace(' ', '')}{int(time.time())}")
        t0 = time.perf_counter()
        orders = [subprocess.Popen(L.pin(1) + [L.LOADGEN, "orders", f"http://127.0.0.1:{d.port}", str(64 // len(daemons)),
                                               str(count // len(daemons)), L.SECRET, "ev01", code],
                                   stdout=subprocess.PIPE, text=True, env=dict(env, RUN_ID=f"{env['RUN_ID']}-{i}"))
                  for i, d in enumerate(daemons)]
        outs = [L.kv(p.communicate()[0]) for p in orders]
        took = time.perf_counter() - t0
        # Orders acknowledged by all daemons together, over the time until the last was.
        webhook = sum(int(o["requests"]) for o in outs) / took
        errors = sum(int(o["errors"]) for o in outs)
        promoters = [f"p{i}@load.test" for i in range(1, L.PROMOTERS + 1)]
        config = configs_ports[0][0]
        mystats = L.kv(L.run([L.LOADGEN, "commands", config, "500", "mystats ev01", *promoters]))
        stats = L.kv(L.run([L.LOADGEN, "commands", config, "100", "stats ev01", L.OWNER]))
    finally:
        for d in daemons:
            d.stop()
    L.log(f"   {label}: redirects {rps:,.0f}/s, webhook {webhook:,.0f} orders/s ({errors} errors), "
          f"mystats p99 {float(mystats['p99_ms']):.2f} ms, stats p99 {float(stats['p99_ms']):.2f} ms")
    return rps, webhook, float(mystats["p99_ms"]), float(stats["p99_ms"]), errors


def pg_bench(config, port, db, home, code, secs, count):
    L.log("== PostgreSQL: the data set moved with migrate-db, then the same load")
    pgdir, admin = start_server(home)
    try:
        L.run(["psql", admin, "-qc", "CREATE DATABASE bench"])
        url = admin.rsplit("/", 1)[0] + "/bench"
        t0 = time.perf_counter()
        moved = L.run([L.PROMOTERD, "migrate-db", "--from", db, "--to", url])
        took = time.perf_counter() - t0
        L.log(f"   migrate-db: {moved.strip().splitlines()[-1]} ({took:.0f} s)")
        one, one_port = pg_config(config, url, home, "pg-one")
        two, two_port = pg_config(config, url, home, "pg-two")
        same = readings(config) == readings(one)
        L.result("migrate-db: stats, mystats, payouts, export bytes identical", "same" if same else "DIFFERENT",
                 "-", "-", "identical", same)
        on_pg = lambda: settle_pg(url)  # noqa: E731
        rows = [("SQLite, one daemon",
                 measure([(config, port)], secs, count, code, "SQLite one daemon", lambda: L.settle(db))),
                ("PostgreSQL, one daemon",
                 measure([(one, one_port)], secs, count, code, "PostgreSQL one daemon", on_pg)),
                ("PostgreSQL, two daemons",
                 measure([(one, one_port), (two, two_port)], secs, count, code, "PostgreSQL two daemons", on_pg))]
    finally:
        stop_server(pgdir)
    print()
    print("| database (daemons on core 0; clients and PostgreSQL on core 1) | redirects/s | webhook orders/s | "
          "mystats p99 | stats p99 |")
    print("|---|---|---|---|---|")
    for name, (rps, hook, my, st, _) in rows:
        print(f"| {name} | {rps:,.0f} | {hook:,.0f} | {my:.2f} ms | {st:.2f} ms |")
    sqlite, pg1 = rows[0][1], rows[1][1]
    L.result("PostgreSQL redirects vs SQLite's", f"{pg1[0]:,.0f}", f"{sqlite[0]:,.0f}", f"{pg1[0] / sqlite[0]:.2f}",
             ">= 0.9x", pg1[0] >= 0.9 * sqlite[0])
    L.result("PostgreSQL webhook orders/s", f"{pg1[1]:,.0f}", "-", "-", ">= 10,000", pg1[1] >= 10_000 and pg1[4] == 0)
    for name, (_, _, my, st, _) in rows:
        L.result(f"{name}: mystats p99", f"{my:.2f} ms", "-", "-", "<= 2 ms", my <= 2)
        L.result(f"{name}: stats p99", f"{st:.2f} ms", "-", "-", "<= 20 ms", st <= 20)
