#!/usr/bin/python3
"""hnsw beyond one server, measured on one machine: the same Fashion-MNIST
rows (a) in one table on one node, (b) in a Citus table distributed over
two workers, (b') in two postgres_fdw partitions on the same two servers,
and (c) read from a primary and its streaming standby.

(a), (b) and (b'): recall@10 and queries/s of the driver shape (psycopg2,
the vector a bound parameter of a prepared statement, one client) at the
same hnsw.ef_search, set on every node (ALTER SYSTEM on the workers, so
that Citus' cached connections and postgres_fdw's see it too); for
postgres_fdw with fetch_size 10 and 100.  (c): pgbench queries/s of two
clients on the primary against one client on the primary and one on the
standby at once.

bench/scaleout.sh starts the clusters (PostgreSQL 18 with Citus, TCP on
127.0.0.1) and passes their ports; this script, run as the postgres user,
loads the data, builds the indexes, makes the standby with pg_basebackup
and prints the figures (and writes them as JSON with --json).
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import psycopg2

import datasets

HOST = "127.0.0.1"


def connect(port, dbname="postgres"):
    conn = psycopg2.connect(host=HOST, port=port, dbname=dbname, user="postgres")
    conn.autocommit = True
    return conn


def setup_fdw(args, data, workers):
    """(b') The same rows as postgres_fdw partitions: a database "fdw" on
    every node (without Citus), the rows split by id % 2 between the two
    workers' tables, each with its own hnsw index, and on the coordinator a
    table partitioned by (id % 2) whose partitions are foreign tables."""
    for i, port in enumerate(workers):
        connect(port).cursor().execute("CREATE DATABASE fdw")
        cur = connect(port, "fdw").cursor()
        cur.execute("CREATE EXTENSION hnsw")
        cur.execute("CREATE TABLE items (id int PRIMARY KEY, v real[])")
        cur.execute("ALTER TABLE items ALTER COLUMN v SET STORAGE EXTERNAL")
        buf = io.StringIO("".join(f"{j}\t{literal(v)}\n" for j, v in enumerate(data["train"]) if j % 2 == i))
        cur.copy_expert("COPY items (id, v) FROM STDIN", buf)
        cur.execute("CREATE INDEX ON items USING hnsw (v) WITH (m = 16, ef_construction = 200)")
        cur.execute("VACUUM ANALYZE items")
    connect(args.coordinator).cursor().execute("CREATE DATABASE fdw")
    cur = connect(args.coordinator, "fdw").cursor()
    cur.execute("CREATE EXTENSION hnsw")
    cur.execute("CREATE EXTENSION postgres_fdw")
    cur.execute("CREATE TABLE items (id int, v real[]) PARTITION BY LIST ((id % 2))")
    for i, port in enumerate(workers):
        cur.execute(f"CREATE SERVER shard{i} FOREIGN DATA WRAPPER postgres_fdw OPTIONS "
                    f"(host '{HOST}', port '{port}', dbname 'fdw', extensions 'hnsw', fetch_size '100')")
        cur.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER shard{i} OPTIONS (user 'postgres')")
        cur.execute(f"CREATE FOREIGN TABLE items_{i} PARTITION OF items FOR VALUES IN ({i}) "
                    f"SERVER shard{i} OPTIONS (table_name 'items')")


def literal(v):
    return "{" + ",".join(repr(float(x)) for x in v) + "}"


def copy_rows(cur, table, vectors):
    for start in range(0, len(vectors), 20000):
        buf = io.StringIO()
        for i, v in enumerate(vectors[start:start + 20000]):
            buf.write(f"{start + i}\t{literal(v)}\n")
        buf.seek(0)
        cur.copy_expert(f"COPY {table} (id, v) FROM STDIN", buf)


def driver(cur, table, data, k, passes=2):
    """Recall@k and queries/s (best of passes) of one client's prepared
    statement over all queries."""
    cur.execute("DEALLOCATE ALL")
    cur.execute(f"PREPARE knn(real[]) AS SELECT id FROM {table} ORDER BY v <-> $1 LIMIT {k}")
    literals = [literal(v) for v in data["test"]]
    for lit in literals[:20]:
        cur.execute("EXECUTE knn(%s)", (lit,))
        cur.fetchall()
    best, answers = None, None
    for _ in range(passes):
        got = []
        t = time.perf_counter()
        for lit in literals:
            cur.execute("EXECUTE knn(%s)", (lit,))
            got.append([r[0] for r in cur.fetchall()])
        elapsed = time.perf_counter() - t
        if best is None or elapsed < best:
            best, answers = elapsed, got
    return datasets.recall(data, answers, k), len(literals) / best


def set_ef(coordinator, ef):
    """hnsw.ef_search = ef on the coordinator's and the workers' servers."""
    cur = coordinator.cursor()
    cur.execute(f"ALTER SYSTEM SET hnsw.ef_search = {ef}")
    cur.execute("SELECT pg_reload_conf()")
    cur.execute(f"SELECT bool_and(success) FROM run_command_on_workers("
                f"'ALTER SYSTEM SET hnsw.ef_search = {ef}')")
    assert cur.fetchone()[0], "ALTER SYSTEM on the workers failed"
    cur.execute("SELECT bool_and(success) FROM run_command_on_workers('SELECT pg_reload_conf()')")
    time.sleep(0.5)
    cur.execute("SELECT result FROM run_command_on_workers('SHOW hnsw.ef_search')")
    assert all(int(r[0]) == ef for r in cur.fetchall()), "a worker did not take ef_search"


def pgbench(port, script, clients, seconds, bindir):
    """Transactions/s of pgbench against the server on port."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        return subprocess.Popen(
            [os.path.join(bindir, "pgbench"), "--no-vacuum", "--protocol=prepared",
             f"--client={clients}", f"--jobs={clients}", f"--time={seconds}", "--file", path,
             "-h", HOST, "-p", str(port), "-U", "postgres", "postgres"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), path
    except Exception:
        os.unlink(path)
        raise


def tps(proc_path):
    proc, path = proc_path
    out, err = proc.communicate()
    os.unlink(path)
    if proc.returncode != 0:
        sys.exit(f"pgbench failed:\n{out}{err}")
    return float(re.search(r"tps = ([0-9.]+)", out).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coordinator", type=int, required=True, help="port of the coordinator")
    ap.add_argument("--workers", required=True, help="ports of the workers, comma-separated")
    ap.add_argument("--standby", type=int, required=True, help="port for the standby")
    ap.add_argument("--standby-dir", required=True, help="data directory for the standby")
    ap.add_argument("--bindir", required=True, help="the server's bin directory")
    ap.add_argument("--train-limit", type=int, help="only the first N Fashion-MNIST rows")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--ef-search", default="10,20,40,80", help="comma-separated ef_search values")
    ap.add_argument("--seconds", type=int, default=10, help="pgbench run per figure")
    ap.add_argument("--cache", default=os.environ.get("HNSW_CACHE", "/var/tmp/hnsw-cache"))
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    args.rows, args.hdf5, args.k = None, None, 10
    data = datasets.load(args)
    efs = [int(x) for x in args.ef_search.split(",")]
    report = {"data": data["name"], "rows": len(data["train"]), "queries": len(data["test"]),
              "shards": args.shards, "workers": len(args.workers.split(","))}

    coordinator = connect(args.coordinator)
    cur = coordinator.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS citus")
    for port in args.workers.split(","):
        wcur = connect(int(port)).cursor()
        wcur.execute("CREATE EXTENSION IF NOT EXISTS citus")
    cur.execute(f"SELECT citus_set_coordinator_host('{HOST}', {args.coordinator})")
    for port in args.workers.split(","):
        cur.execute(f"SELECT citus_add_node('{HOST}', {port})")
    cur.execute("CREATE EXTENSION hnsw")

    # (a) one table on one node
    cur.execute("CREATE TABLE items_single (id int PRIMARY KEY, v real[])")
    cur.execute("ALTER TABLE items_single ALTER COLUMN v SET STORAGE EXTERNAL")
    copy_rows(cur, "items_single", data["train"])
    t = time.time()
    cur.execute("CREATE INDEX ON items_single USING hnsw (v) WITH (m = 16, ef_construction = 200)")
    report["single_build_s"] = time.time() - t
    cur.execute("VACUUM ANALYZE items_single")

    # (b) the same rows distributed
    cur.execute("CREATE TABLE items (id int PRIMARY KEY, v real[])")
    cur.execute("ALTER TABLE items ALTER COLUMN v SET STORAGE EXTERNAL")
    cur.execute(f"SET citus.shard_count = {args.shards}")
    cur.execute("SELECT create_distributed_table('items', 'id')")
    copy_rows(cur, "items", data["train"])
    t = time.time()
    cur.execute("CREATE INDEX ON items USING hnsw (v) WITH (m = 16, ef_construction = 200)")
    report["citus_build_s"] = time.time() - t
    cur.execute("VACUUM ANALYZE items")
    print(f"{len(data['train'])} rows; build: one node {report['single_build_s']:.1f} s, "
          f"Citus ({args.shards} shards on {report['workers']} workers) {report['citus_build_s']:.1f} s",
          flush=True)

    workers = [int(p) for p in args.workers.split(",")]
    setup_fdw(args, data, workers)
    fdw = connect(args.coordinator, "fdw").cursor()

    report["sweep"] = []
    for ef in efs:
        set_ef(coordinator, ef)
        qcur = connect(args.coordinator).cursor()
        single = driver(qcur, "items_single", data, args.k)
        citus = driver(qcur, "items", data, args.k)
        row = {"ef_search": ef, "single_recall": single[0], "single_qps": single[1],
               "citus_recall": citus[0], "citus_qps": citus[1]}
        # postgres_fdw: each shard's cursor is read fetch_size rows at a time
        for fetch in (10, 100):
            for i in range(len(workers)):
                fdw.execute(f"ALTER SERVER shard{i} OPTIONS (SET fetch_size '{fetch}')")
            fcur = connect(args.coordinator, "fdw").cursor()
            row[f"fdw{fetch}_recall"], row[f"fdw{fetch}_qps"] = driver(fcur, "items", data, args.k)
        report["sweep"].append(row)
        print(f"  ef_search {ef:>4}: one node recall {single[0]:.4f} {single[1]:7.0f} q/s | "
              f"Citus recall {citus[0]:.4f} {citus[1]:7.0f} q/s | postgres_fdw (fetch_size 10 / 100) "
              f"recall {row['fdw10_recall']:.4f} {row['fdw10_qps']:6.0f} / {row['fdw100_recall']:.4f} "
              f"{row['fdw100_qps']:6.0f} q/s", flush=True)
    set_ef(coordinator, 40)

    # (c) a primary and its standby: the coordinator's local table
    cur.execute("CREATE TABLE queries (qid int PRIMARY KEY, v real[])")
    buf = io.StringIO("".join(f"{i}\t{literal(v)}\n" for i, v in enumerate(data["test"])))
    cur.copy_expert("COPY queries (qid, v) FROM STDIN", buf)
    cur.execute("CHECKPOINT")
    subprocess.run([os.path.join(args.bindir, "pg_basebackup"), "-h", HOST, "-p", str(args.coordinator),
                    "-U", "postgres", "-D", args.standby_dir, "-R", "-X", "stream", "-c", "fast"],
                   check=True)
    log = os.path.join(os.path.dirname(args.standby_dir), "server.log")
    if subprocess.run([os.path.join(args.bindir, "pg_ctl"), "-D", args.standby_dir, "-w", "-l", log,
                       "-o", f"-p {args.standby} -c max_prepared_transactions=200 -c shared_buffers=1GB -c jit=off",
                       "start"], stdout=subprocess.DEVNULL).returncode != 0:
        sys.exit("the standby did not start:\n" + open(log).read())
    script = (f"\\set q random(0, {len(data['test']) - 1})\n"
              f"SELECT id FROM items_single ORDER BY v <-> (SELECT v FROM queries WHERE qid = :q) "
              f"LIMIT {args.k};\n")
    primary_two = tps(pgbench(args.coordinator, script, 2, args.seconds, args.bindir))
    a = pgbench(args.coordinator, script, 1, args.seconds, args.bindir)
    b = pgbench(args.standby, script, 1, args.seconds, args.bindir)
    spread = (tps(a), tps(b))
    report["replicas"] = {"ef_search": 40, "primary_two_clients_qps": primary_two,
                          "primary_one_qps": spread[0], "standby_one_qps": spread[1],
                          "spread_qps": sum(spread)}
    print(f"read replicas at ef_search 40 (pgbench): two clients on the primary {primary_two:.0f} q/s; "
          f"one on the primary and one on the standby {spread[0]:.0f} + {spread[1]:.0f} = "
          f"{sum(spread):.0f} q/s", flush=True)
    subprocess.run([os.path.join(args.bindir, "pg_ctl"), "-D", args.standby_dir, "-w", "-m", "fast", "stop"],
                   check=True, stdout=subprocess.DEVNULL)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
