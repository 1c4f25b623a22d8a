"""What the benchmark's parts share: connections, pgbench runs, the CPU a
one-client pgbench shares with its server process, and interpolation on a
recall/queries-per-second curve."""

import os
import re
import subprocess
import sys
import tempfile
import time

import psycopg2

PGBENCH = os.environ.get("PGBENCH", "pgbench")

# The CPU that a one-client pgbench and its server process share (see
# --pinned), or None
PIN_CPU = None


def connect(dbname=None):
    conn = psycopg2.connect(dbname=dbname) if dbname else psycopg2.connect("")
    conn.autocommit = True
    return conn


def pin_backends(proc, cpu, dbname):
    """Move the server process serving pgbench (its connection appears in
    pg_stat_activity a moment after it starts) to cpu, where pgbench runs.
    A query and its answer then pass between two processes on one CPU, as
    calls within one process do, instead of waking the other CPU each way
    (on a virtual machine a wake-up of an idle virtual CPU takes tens of
    microseconds)."""
    conn = connect(dbname)
    cur = conn.cursor()
    pinned = set()
    deadline = time.time() + 5
    while not pinned and time.time() < deadline and proc.poll() is None:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' "
                    "AND backend_type = 'client backend'")
        for (pid,) in cur.fetchall():
            try:
                os.sched_setaffinity(pid, {cpu})
                pinned.add(pid)
            except (ProcessLookupError, PermissionError) as e:
                print(f"cannot pin server process {pid}: {e}", file=sys.stderr)
        if not pinned:
            time.sleep(0.005)
    conn.close()
    if not pinned and proc.poll() is None:
        sys.exit("pgbench's server process did not show up in pg_stat_activity")


def pgbench_qps(script, seconds, clients, dbname=None, settings=(), pin=False):
    """Transactions/s of pgbench running script (prepared statements, each
    client its own connection and thread), with settings (name=value) for
    its sessions.  With pin, one client runs on the same CPU as its server
    process (PIN_CPU)."""
    env = dict(os.environ)
    if dbname:
        env["PGDATABASE"] = dbname
    if settings:
        env["PGOPTIONS"] = " ".join(f"-c {s}" for s in settings)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        path = f.name
    cpu = PIN_CPU if pin and clients == 1 else None
    try:
        proc = subprocess.Popen([PGBENCH, "--no-vacuum", "--protocol=prepared", f"--client={clients}",
                                 f"--jobs={clients}", f"--time={seconds}", "--file", path],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=None if cpu is None else lambda: os.sched_setaffinity(0, {cpu}))
        if cpu is not None:
            pin_backends(proc, cpu, dbname)
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"pgbench failed:\n{out}{err}")
    finally:
        os.unlink(path)
    m = re.search(r"tps = ([0-9.]+)", out)
    if not m:
        sys.exit("pgbench printed no tps:\n" + out)
    return float(m.group(1))


def qps_at_recall(sweep, recall, key="qps"):
    """Queries/s at exactly this recall, read off the sweep's curve: linear
    between the points just below and just above it.  Returns (qps,
    bracketed); when the sweep starts above the recall, the first point's
    queries/s (which understates that side: sweep lower ef_search), and
    (None, False) when no point reaches it."""
    pts = sorted((r for r in sweep if r.get(key)), key=lambda r: r["recall"])
    for i, p in enumerate(pts):
        if p["recall"] >= recall:
            if i == 0:
                return p[key], False
            lo = pts[i - 1]
            if p["recall"] == lo["recall"]:
                return max(p[key], lo[key]), True
            t = (recall - lo["recall"]) / (p["recall"] - lo["recall"])
            return lo[key] + t * (p[key] - lo[key]), True
    return None, False
