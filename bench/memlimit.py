#!/usr/bin/python3
"""Index larger than memory: queries/s of storage float4, int8, half and bit
with the whole cluster (its shared buffers and the page cache it causes) in
a cgroup v1 memory limit smaller than the float4 index.

Run by bench/memlimit.sh (as root: it writes the cgroup), which starts
nothing itself: this script makes a cluster in --dir with PostgreSQL's
--bindir, as the postgres user, and for each storage

  1. builds the index on the same seeded synthetic rows (clustered, --dims
     dimensions) without a limit,
  2. restarts the cluster inside the cgroup (--limit-mb; the kernel's page
     cache dropped first, so every storage starts cold),
  3. answers the same queries (a driver with the vector as a bound
     parameter, one client) at each ef_search, after a warm-up pass, and
     measures recall@10 against the exact answers (computed once, without
     the index).

It prints, per storage, the index's size and the pages a search walks
(against the raw float4 vectors), and recall and queries/s at each
ef_search, then queries/s at recall 0.95 and 0.99 as ratios against
float4 in the same run."""

import argparse
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import psycopg2

CGROUP = "/sys/fs/cgroup/memory/hnsw-bench"


def run_as_postgres(args, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + args, check=True, **kw)


class Cluster:
    def __init__(self, bindir, directory, port):
        self.bindir, self.dir, self.port = bindir, directory, port
        self.data = os.path.join(directory, "data")

    def init(self, shared_buffers):
        os.makedirs(self.dir, exist_ok=True)
        subprocess.run(["chown", "postgres:postgres", self.dir], check=True)
        run_as_postgres([f"{self.bindir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-N"],
                        stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"port = {self.port}\nunix_socket_directories = '{self.dir}'\nlisten_addresses = ''\n"
                    f"shared_buffers = '{shared_buffers}MB'\nmax_wal_size = '4GB'\nautovacuum = off\n"
                    "jit = off\nmax_parallel_workers_per_gather = 0\n")

    def start(self, cgroup=None):
        """Start the postmaster, inside cgroup if given: the shell that runs
        pg_ctl joins it first, so every process of the cluster is in it."""
        cmd = f"runuser -u postgres -- {self.bindir}/pg_ctl -D {self.data} -l {self.dir}/server.log -w start"
        if cgroup:
            # root joins the group, then becomes the postgres user
            cmd = f"echo $$ > {cgroup}/cgroup.procs && exec {cmd}"
        subprocess.run(["sh", "-c", cmd], check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        run_as_postgres([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"],
                        stdout=subprocess.DEVNULL)

    def connect(self):
        conn = psycopg2.connect(host=self.dir, port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        return conn


def cgroup_setup(limit_mb):
    os.makedirs(CGROUP, exist_ok=True)
    with open(f"{CGROUP}/memory.limit_in_bytes", "w") as f:
        f.write(str(limit_mb * 2**20))
    return CGROUP


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def walked_pages(cur, index):
    cur.execute(f"""SELECT count(DISTINCT b) FROM generate_series(1,
                       pg_relation_size('{index}') / current_setting('block_size')::int - 1) b,
                   LATERAL hnsw_page_items('{index}', b) WHERE kind IN ('element', 'upper')""")
    return cur.fetchone()[0]


def load(cur, args):
    """Seeded clustered rows and queries, made in SQL (setseed)"""
    cur.execute("DROP TABLE IF EXISTS items, queries, centres")
    cur.execute(f"SELECT setseed({args.seed})")
    cur.execute(f"""CREATE TABLE centres AS SELECT c,
                    ARRAY(SELECT (random() * 2 - 1)::real FROM generate_series(1, {args.dims} + 0 * c)) AS v
                    FROM generate_series(0, {args.clusters - 1}) c""")
    cur.execute("CREATE TABLE items (id int, v real[])")
    cur.execute(f"ALTER TABLE items ALTER COLUMN v SET STORAGE {args.table_storage}")
    for start in range(0, args.rows, 50000):
        cur.execute(f"""INSERT INTO items SELECT i,
                        ARRAY(SELECT (x + (random() - 0.5) * {args.spread})::real
                              FROM unnest((SELECT v FROM centres WHERE c = i % {args.clusters})) x)
                        FROM generate_series({start + 1}, {min(start + 50000, args.rows)}) i""")
    cur.execute(f"""CREATE TABLE queries AS SELECT g AS qid,
                    ARRAY(SELECT (x + (random() - 0.5) * {args.spread})::real
                          FROM unnest((SELECT v FROM centres WHERE c = (g * 7) % {args.clusters})) x) AS v
                    FROM generate_series(1, {args.queries}) g""")
    cur.execute("VACUUM ANALYZE items")


FASHION = "/usr/share/datasets/fashion-mnist/"


def fashion_images(name):
    with gzip.open(FASHION + name) as f:
        _, n, h, w = struct.unpack(">4I", f.read(16))
        return np.frombuffer(f.read(), np.uint8).reshape(n, h * w).astype(np.float32)


def load_fashion(cur, args):
    """Fashion-MNIST's 60,000 training images, and copies of them shifted
    right by 1, 2, ... pixels (wrapping around each row) until there are
    --rows; the first --queries test images as queries.  Returns the rows
    and queries as arrays, for the exact answers."""
    train = fashion_images("train-images-idx3-ubyte.gz")
    parts, shift = [], 0
    while sum(len(p) for p in parts) < args.rows:
        img = train.reshape(-1, 28, 28)
        parts.append(np.roll(img, shift, axis=2).reshape(-1, 784))
        shift += 1
    rows = np.concatenate(parts)[: args.rows]
    # the queries measured, then as many others for the warm-up
    queries = fashion_images("t10k-images-idx3-ubyte.gz")[: 2 * args.queries]
    if cur is None:
        return rows, queries
    cur.execute("DROP TABLE IF EXISTS items, queries")
    cur.execute("CREATE TABLE items (id int, v real[])")
    cur.execute(f"ALTER TABLE items ALTER COLUMN v SET STORAGE {args.table_storage}")
    for start in range(0, len(rows), 20000):
        buf = io.StringIO()
        for i, x in enumerate(rows[start:start + 20000]):
            buf.write(f"{start + i}\t{{{','.join(str(int(v)) for v in x)}}}\n")
        buf.seek(0)
        cur.copy_expert("COPY items (id, v) FROM STDIN", buf)
    cur.execute("CREATE TABLE queries (qid int, v real[])")
    buf = io.StringIO()
    for i, x in enumerate(queries):
        buf.write(f"{i}\t{{{','.join(str(int(v)) for v in x)}}}\n")
    buf.seek(0)
    cur.copy_expert("COPY queries (qid, v) FROM STDIN", buf)
    cur.execute("VACUUM ANALYZE items")
    return rows, queries


def exact_answers(rows, queries, k):
    """The ids of the k nearest rows of each query, by L2, in numpy (the
    queries 200 at a time)"""
    r64 = rows.astype(np.float64)
    norms = (r64 ** 2).sum(axis=1)
    truth = {}
    for start in range(0, len(queries), 200):
        block = queries[start:start + 200].astype(np.float64)
        d = norms[:, None] - 2 * r64 @ block.T
        for j in range(len(block)):
            truth[start + j] = set(np.argpartition(d[:, j], k)[:k].tolist())
    return truth


def ground_truth(cur, k):
    cur.execute("SET enable_indexscan = off")
    cur.execute(f"""SELECT q.qid, ARRAY(SELECT id FROM items i ORDER BY i.v <-> q.v LIMIT {k})
                    FROM queries q ORDER BY q.qid""")
    truth = {qid: set(ids) for qid, ids in cur.fetchall()}
    cur.execute("RESET enable_indexscan")
    return truth


STATIO = """SELECT coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes WHERE relname = 'items'
           UNION ALL SELECT heap_blks_read FROM pg_statio_user_tables WHERE relname = 'items'
           UNION ALL SELECT toast_blks_read + tidx_blks_read FROM pg_statio_user_tables WHERE relname = 'items'"""


def reads(cur, pid):
    """Blocks this backend's searches have read so far: into shared buffers
    (pg_statio, after a flush of its own counts) from the index, the table
    and its TOAST table, and from storage (/proc/PID/io read_bytes, in 8 KiB
    blocks: what the page cache did not have either)"""
    cur.execute("SELECT pg_stat_force_next_flush()")
    cur.execute("SELECT 1")
    cur.execute(STATIO)
    index, heap, toast = (int(r[0]) for r in cur.fetchall())
    with open(f"/proc/{pid}/io") as f:
        storage = next(int(line.split()[1]) for line in f if line.startswith("read_bytes:"))
    return {"index": index, "heap": heap, "toast": toast, "storage": storage / 8192}


def driver(conn, queries, truth, k, ef):
    """recall@k, queries/s, and blocks read per query (see reads)"""
    cur = conn.cursor()
    cur.execute(f"SET hnsw.ef_search = {ef}")
    cur.execute("DEALLOCATE ALL")
    cur.execute(f"PREPARE knn(real[]) AS SELECT id FROM items ORDER BY v <-> $1 LIMIT {k}")
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    before = reads(cur, pid)
    found = 0
    t0 = time.perf_counter()
    for qid, v in queries:
        cur.execute("EXECUTE knn(%s)", (v,))
        found += len(truth[qid] & {r[0] for r in cur.fetchall()})
    seconds = time.perf_counter() - t0
    after = reads(cur, pid)
    per_query = {key: (after[key] - before[key]) / len(queries) for key in before}
    return found / (k * len(queries)), len(queries) / seconds, per_query


def qps_at(sweep, recall):
    pts = sorted(sweep, key=lambda r: r["recall"])
    for i, p in enumerate(pts):
        if p["recall"] >= recall:
            if i == 0 or p["recall"] == pts[i - 1]["recall"]:
                return p["qps"]
            lo = pts[i - 1]
            t = (recall - lo["recall"]) / (p["recall"] - lo["recall"])
            return lo["qps"] + t * (p["qps"] - lo["qps"])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--dir", default="/var/tmp/hnsw-memlimit")
    ap.add_argument("--port", type=int, default=54390)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--dims", type=int, default=784)
    ap.add_argument("--clusters", type=int, default=200)
    ap.add_argument("--spread", type=float, default=0.8)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--ef-search", default="10,20,40,80,160")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--shared-buffers-mb", type=int, default=32)
    ap.add_argument("--limit-mb", type=int, default=0,
                    help="the cgroup's limit; 0: 1.5x the pages an int8 search walks, plus 64 MiB for "
                         "the processes (shared buffers count against it)")
    ap.add_argument("--table-storage", default="external", choices=["external", "plain"],
                    help="how the table keeps its vectors: external (TOAST, uncompressed: a row the "
                         "executor reads costs the heap page, the TOAST index and its chunks) or plain "
                         "(in the heap row, for vectors that fit a page: one page a row)")
    ap.add_argument("--seed", type=float, default=0.42)
    ap.add_argument("--fashion-mnist", action="store_true",
                    help="Fashion-MNIST images and shifted copies of them instead of synthetic rows "
                         "(the warm-up then uses as many other test images as are measured)")
    ap.add_argument("--storages", default="float4,int8,half,bit",
                    help="the storages measured in the limit (float4 first: the ratios need it)")
    ap.add_argument("--reuse", action="store_true",
                    help="the cluster and indexes of the last --fashion-mnist run in --dir, as they are")
    ap.add_argument("--out", default="/var/tmp/hnsw-memlimit.json")
    args = ap.parse_args()
    efs = [int(x) for x in args.ef_search.split(",")]

    cluster = Cluster(args.bindir, args.dir, args.port)
    if args.reuse:
        return measure(args, cluster, efs)
    if os.path.exists(cluster.dir):
        subprocess.run(["rm", "-rf", cluster.dir], check=True)
    cluster.init(args.shared_buffers_mb)
    cluster.start()
    conn = cluster.connect()
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION hnsw")
    t0 = time.time()
    if args.fashion_mnist:
        args.dims = 784
        load_fashion(cur, args)
    else:
        load(cur, args)
    print(f"loaded {args.rows} x {args.dims} rows in {time.time() - t0:.0f} s", flush=True)
    raw = args.rows * args.dims * 4

    report = {"rows": args.rows, "dimensions": args.dims, "raw_bytes": raw,
              "table_storage": args.table_storage, "storages": {}}
    sizes = {}
    for storage in args.storages.split(","):
        cur.execute("DROP INDEX IF EXISTS items_v_idx")
        cur.execute("SET maintenance_work_mem = '4GB'")
        t0 = time.time()
        cur.execute(f"CREATE INDEX items_v_idx ON items USING hnsw (v) WITH (m = {args.m}, "
                    f"ef_construction = {args.ef_construction}, storage = '{storage}')")
        build = time.time() - t0
        cur.execute("SELECT pg_relation_size('items_v_idx')")
        size = cur.fetchone()[0]
        walk = walked_pages(cur, "items_v_idx") * 8192
        sizes[storage] = walk
        print(f"{storage}: built in {build:.0f} s; index {size / 2**20:.0f} MiB ({size / raw:.2f}x raw), "
              f"pages a search walks {walk / 2**20:.0f} MiB ({walk / raw:.2f}x raw)", flush=True)
        # a dump of the index to be measured in the limit: rename it, build the next
        cur.execute(f"ALTER INDEX items_v_idx RENAME TO items_{storage}_idx")
        report["storages"][storage] = {"build_seconds": build, "index_bytes": size, "walk_bytes": walk}
    with open(os.path.join(args.dir, "report.json"), "w") as f:
        json.dump(report, f)
    conn.close()
    cluster.stop()
    return measure(args, cluster, efs)


def measure(args, cluster, efs):
    """Each storage's index alone, the cluster in the memory limit"""
    with open(os.path.join(args.dir, "report.json")) as f:
        report = json.load(f)
    sizes = {s: v["walk_bytes"] for s, v in report["storages"].items()}
    if args.fashion_mnist:
        args.dims = 784
        rows, qv = load_fashion(None, args)
        # the exact answers, computed once for these rows and queries
        cached = os.path.join(args.dir, f"truth-{args.rows}-{len(qv)}-{args.k}.json")
        if os.path.exists(cached):
            with open(cached) as f:
                truth = {int(q): set(ids) for q, ids in json.load(f).items()}
        else:
            truth = exact_answers(rows, qv, args.k)
            with open(cached, "w") as f:
                json.dump({q: sorted(int(i) for i in ids) for q, ids in truth.items()}, f)
        del rows
        queries = [(i, [float(x) for x in qv[i]]) for i in range(args.queries)]
        warmup = [(i, [float(x) for x in qv[i]]) for i in range(args.queries, len(qv))]
    else:
        cluster.start()
        conn = cluster.connect()
        cur = conn.cursor()
        truth = ground_truth(cur, args.k)
        cur.execute("SELECT qid, v FROM queries ORDER BY qid")
        queries = warmup = cur.fetchall()
        conn.close()
        cluster.stop()
    limit = args.limit_mb or int(1.5 * sizes["int8"] / 2**20 + 64)
    report["limit_mb"] = limit
    print(f"memory limit: {limit} MiB (shared_buffers {args.shared_buffers_mb} MiB; the table's vectors "
          f"{report.get('table_storage', 'external')})", flush=True)

    cgroup = cgroup_setup(limit)
    for storage in args.storages.split(","):
        # only this storage's index: the others are marked invalid for the planner
        cluster.start()
        conn = cluster.connect()
        cur = conn.cursor()
        for other in report["storages"]:
            cur.execute(f"UPDATE pg_index SET indisvalid = {'true' if other == storage else 'false'} "
                        f"WHERE indexrelid = 'items_{other}_idx'::regclass")
        conn.close()
        cluster.stop()
        drop_caches()
        cluster.start(cgroup)
        conn = cluster.connect()
        sweep = []
        # warm-up: one pass at the widest beam (with other queries, for
        # Fashion-MNIST), so that what fits the limit is cached; then
        # each beam once
        driver(conn, warmup, truth, args.k, max(efs))
        for ef in efs:
            recall, qps, per_query = driver(conn, queries, truth, args.k, ef)
            sweep.append({"ef_search": ef, "recall": recall, "qps": qps, "reads_per_query": per_query})
            print(f"  {storage} in {limit} MiB, ef {ef:>4}: recall {recall:.4f}  {qps:>8.1f} q/s; "
                  f"blocks read per query: index {per_query['index']:.1f}, table {per_query['heap']:.1f}, "
                  f"TOAST {per_query['toast']:.1f} (into shared buffers), "
                  f"{per_query['storage']:.1f} from storage", flush=True)
        report["storages"][storage]["sweep"] = sweep
        conn.close()
        cluster.stop()

    for r in (0.95, 0.99):
        if "sweep" not in report["storages"]["float4"]:
            break
        base = qps_at(report["storages"]["float4"]["sweep"], r)
        for storage in [s for s in args.storages.split(",") if s != "float4"]:
            q = qps_at(report["storages"][storage]["sweep"], r)
            ratio = q / base if q and base else None
            report["storages"][storage][f"qps_ratio_at_{r}"] = ratio
            print(f"at recall {r} in {limit} MiB: {storage}/float4 queries/s "
                  + (f"{ratio:.2f}" if ratio else "-"), flush=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"figures in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
