"""The two indexes measured through SQL, each in a database of its own
(both access methods are named hnsw): this project's hnsw and pgvector.

Every figure of one system comes from the same table, index options and
client as the other's.  The query shapes:

  driver    the query users write: Python with psycopg2, a prepared
            SELECT id FROM items ORDER BY v <-> $1 LIMIT k with the vector
            as a bound parameter, on a plain index (no INCLUDE), one
            client; the headline
  pgbench   the same index from pgbench, the query vector read from a
            table on the server (SELECT ... ORDER BY v <-> (SELECT v FROM
            queries WHERE qid = :q)), so no client formats the vector
  index-only  the driver shape on an index with INCLUDE (id) (hnsw only:
            pgvector has no index-only scans)

and for the driver and pgbench shapes a floor: the same statement without
the search, whose time is what SQL costs around it.
"""

import io
import threading
import time

import numpy as np

import common
import datasets

# per metric: the column type, operator class and operator of each system
# (None where the system has no such distance)
OPCLASSES = {
    "hnsw": {"euclidean": ("real[]", "float4_l2_ops", "<->"),
             "angular": ("real[]", "float4_cosine_ops", "<=>"),
             "ip": ("real[]", "float4_ip_ops", "<#>"),
             "jaccard": ("int4[]", "int4_jaccard_ops", "<%>"),
             "hamming": ("bit({dim})", "bit_hamming_ops", "<~>")},
    "pgvector": {"euclidean": ("vector({dim})", "vector_l2_ops", "<->"),
                 "angular": ("vector({dim})", "vector_cosine_ops", "<=>"),
                 "ip": ("vector({dim})", "vector_ip_ops", "<#>"),
                 "jaccard": None,
                 "hamming": ("bit({dim})", "bit_hamming_ops", "<~>")},
}
EXTENSION = {"hnsw": "hnsw", "pgvector": "vector"}


class ProgressWatcher(threading.Thread):
    """Samples pg_stat_progress_create_index while CREATE INDEX runs."""

    def __init__(self, dbname):
        super().__init__(daemon=True)
        self.dbname = dbname
        self.stop = threading.Event()
        self.phases = []

    def run(self):
        conn = common.connect(self.dbname)
        cur = conn.cursor()
        while not self.stop.is_set():
            cur.execute("SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index")
            for phase, done, total in cur.fetchall():
                if not self.phases or self.phases[-1]["phase"] != phase:
                    self.phases.append({"phase": phase, "tuples_done": done, "tuples_total": total})
                else:
                    self.phases[-1].update(tuples_done=done, tuples_total=total)
            time.sleep(0.2)
        conn.close()


class SqlSystem:
    def __init__(self, name, data, args):
        self.name = name
        self.args = args
        self.data = data
        self.metric = data["metric"]
        self.dbname = f"bench_{name}"
        spec = OPCLASSES[name][self.metric]
        dim = data["dimensions"] or 0
        self.coltype, self.opclass, self.op = spec[0].format(dim=dim), spec[1], spec[2]
        self.ptype = self.coltype
        self.with_clause = f"WITH (m = {args.m}, ef_construction = {args.ef_construction})"
        self.index_name = "items_v_idx"
        self.table = "items"

    @staticmethod
    def supports(name, metric):
        return OPCLASSES[name][metric] is not None

    def literal(self, v):
        if self.metric == "hamming":
            return "".join("1" if x else "0" for x in v)
        if self.metric == "jaccard":
            return "{" + ",".join(str(int(x)) for x in v) + "}"
        body = ",".join(repr(float(x)) for x in v)
        return f"[{body}]" if self.name == "pgvector" else "{" + body + "}"

    def connect(self):
        return common.connect(self.dbname)

    def setup(self, rows):
        """A fresh database with the extension, the table of the first rows
        vectors and the table of the queries."""
        admin = common.connect()
        acur = admin.cursor()
        acur.execute(f"DROP DATABASE IF EXISTS {self.dbname}")
        acur.execute(f"CREATE DATABASE {self.dbname}")
        admin.close()
        self.conn = self.connect()
        cur = self.conn.cursor()
        cur.execute(f"CREATE EXTENSION {EXTENSION[self.name]}")
        cur.execute(f"CREATE TABLE items (id int, v {self.coltype})")
        cur.execute(f"CREATE TABLE queries (qid int PRIMARY KEY, v {self.coltype})")
        self.rows = 0
        self.add_rows(rows)
        self.copy("queries", "qid", self.data["test"], 0)
        cur.execute("VACUUM ANALYZE queries")
        cur.execute(f"CREATE TABLE insert_src (id int PRIMARY KEY, v {self.coltype})")
        if len(self.data["extra"]) > 0:
            self.copy("insert_src", "id", self.data["extra"], 0)
        cur.execute("VACUUM ANALYZE insert_src")

    def copy(self, table, key, vectors, first):
        cur = self.conn.cursor()
        for start in range(0, len(vectors), 50000):
            buf = io.StringIO()
            for i, v in enumerate(vectors[start:start + 50000]):
                buf.write(f"{first + start + i}\t{self.literal(v)}\n")
            buf.seek(0)
            cur.copy_expert(f"COPY {table} ({key}, v) FROM STDIN", buf)

    def add_rows(self, upto):
        """Load train rows up to upto (the scale mode grows the table, and
        builds the index again: its old one goes first, or every row
        loaded would be an insert into it)."""
        self.conn.cursor().execute(f"DROP INDEX IF EXISTS {self.index_name}")
        t0 = time.time()
        self.copy("items", "id", self.data["train"][self.rows:upto], self.rows)
        self.conn.cursor().execute("VACUUM ANALYZE items")
        print(f"{self.name}: loaded rows {self.rows}..{upto - 1} in {time.time() - t0:.1f} s")
        self.rows = upto

    def build(self, workers, include=False, watch=False):
        """CREATE INDEX with this many parallel workers; its time, and the
        phases pg_stat_progress_create_index showed if watch."""
        cur = self.conn.cursor()
        cur.execute("SET maintenance_work_mem = '4GB'")
        cur.execute(f"SET max_parallel_maintenance_workers = {workers}")
        cur.execute(f"DROP INDEX IF EXISTS {self.index_name}")
        watcher = ProgressWatcher(self.dbname) if watch else None
        if watcher:
            watcher.start()
        t0 = time.time()
        cur.execute(f"CREATE INDEX {self.index_name} ON {self.table} USING hnsw (v {self.opclass})"
                    + (" INCLUDE (id)" if include else "") + f" {self.with_clause}")
        seconds = time.time() - t0
        if watcher:
            watcher.stop.set()
            watcher.join()
        cur.execute("RESET max_parallel_maintenance_workers")
        return seconds, (watcher.phases if watcher else None)

    def index_bytes(self):
        cur = self.conn.cursor()
        cur.execute(f"SELECT pg_relation_size('{self.index_name}')")
        return cur.fetchone()[0]

    def backend_peak_kib(self):
        """The peak resident memory of this connection's server process
        (VmHWM, shared memory it touched included)."""
        cur = self.conn.cursor()
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return None

    def plan(self):
        cur = self.conn.cursor()
        cur.execute(f"EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v {self.op} "
                    f"(SELECT v FROM queries WHERE qid = 0) LIMIT {self.args.k}")
        return [r[0].strip() for r in cur.fetchall()]

    def prepare(self, cur):
        cur.execute("DEALLOCATE ALL")
        cur.execute(f"PREPARE knn({self.ptype}) AS SELECT id FROM {self.table} ORDER BY v {self.op} $1 "
                    f"LIMIT {self.args.k}")
        cur.execute(f"PREPARE floor({self.ptype}) AS SELECT id FROM items "
                    f"WHERE id < {self.args.k} AND $1 IS NOT NULL LIMIT {self.args.k}")

    def driver_pass(self, cur, statement, literals):
        """One pass of the driver over all queries: answers and latencies."""
        answers, lat = [], []
        for lit in literals:
            t = time.perf_counter()
            cur.execute(f"EXECUTE {statement}(%s)", (lit,))
            answers.append([r[0] for r in cur.fetchall()])
            lat.append(time.perf_counter() - t)
        return answers, np.array(lat)

    def driver_floor(self):
        """Statements/s of the driver shape without the search (best of two
        passes)."""
        cur = self.conn.cursor()
        self.prepare(cur)
        literals = [self.literal(v) for v in self.data["test"]]
        best = 0
        for _ in range(2):
            _, lat = self.driver_pass(cur, "floor", literals)
            best = max(best, len(lat) / lat.sum())
        return best

    def sweep_row(self, ef, answers, lat):
        """A sweep's point: recall of the answers, queries/s, p50 and p99
        of one pass's latencies."""
        return {"ef_search": ef, "recall": datasets.recall(self.data, answers, self.args.k),
                "qps": len(lat) / lat.sum(),
                "p50_ms": float(np.percentile(lat, 50) * 1000),
                "p99_ms": float(np.percentile(lat, 99) * 1000)}

    def driver_sweep(self, efs):
        """For each ef_search: recall, queries/s (best of two passes), p50
        and p99 of the driver shape."""
        cur = self.conn.cursor()
        cur.execute("RESET enable_indexonlyscan")
        self.prepare(cur)
        literals = [self.literal(v) for v in self.data["test"]]
        out = []
        # one pass at the widest ef_search first: the index (just built)
        # comes into shared buffers and this backend's memory, which
        # otherwise slows the first ef_search measured
        cur.execute(f"SET hnsw.ef_search = {max(efs)}")
        self.driver_pass(cur, "knn", literals)
        for ef in efs:
            cur.execute(f"SET hnsw.ef_search = {ef}")
            self.driver_pass(cur, "knn", literals[:20])
            answers, lat = self.driver_pass(cur, "knn", literals)
            _, lat2 = self.driver_pass(cur, "knn", literals)
            best = lat if lat.sum() <= lat2.sum() else lat2
            row = self.sweep_row(ef, answers, best)
            out.append(row)
            print(f"  {self.name} driver  ef {ef:>4}: recall {row['recall']:.4f}  {row['qps']:>8.0f} q/s  "
                  f"p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms", flush=True)
        cur.execute("RESET hnsw.ef_search")
        return out

    def driver_sweep_interleaved(self, tables, efs):
        """driver_sweep over several tables of the same rows, each with its
        own index, interleaved: at each ef_search, two rounds of one pass
        per table, the best of its two passes kept, so that the machine's
        drift over the run falls on every table alike.  Returns each
        table's sweep."""
        cur = self.conn.cursor()
        cur.execute("RESET enable_indexonlyscan")
        cur.execute("DEALLOCATE ALL")
        for t in tables:
            cur.execute(f"PREPARE knn_{t}({self.ptype}) AS SELECT id FROM {t} ORDER BY v {self.op} $1 "
                        f"LIMIT {self.args.k}")
        literals = [self.literal(v) for v in self.data["test"]]
        # each index into shared buffers first (see driver_sweep)
        cur.execute(f"SET hnsw.ef_search = {max(efs)}")
        for t in tables:
            self.driver_pass(cur, f"knn_{t}", literals)
        out = {t: [] for t in tables}
        for ef in efs:
            cur.execute(f"SET hnsw.ef_search = {ef}")
            passes = {t: [] for t in tables}
            for _ in range(2):
                for t in tables:
                    self.driver_pass(cur, f"knn_{t}", literals[:20])
                    passes[t].append(self.driver_pass(cur, f"knn_{t}", literals))
            for t in tables:
                row = self.sweep_row(ef, *min(passes[t], key=lambda p: p[1].sum()))
                out[t].append(row)
                print(f"  {t:<14} ef {ef:>4}: recall {row['recall']:.4f}  {row['qps']:>8.0f} q/s  "
                      f"p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms", flush=True)
        cur.execute("RESET hnsw.ef_search")
        cur.execute("DEALLOCATE ALL")
        return out

    def knn_script(self):
        return (f"\\set q random(0, {len(self.data['test']) - 1})\n"
                f"SELECT id FROM items ORDER BY v {self.op} (SELECT v FROM queries WHERE qid = :q) "
                f"LIMIT {self.args.k};\n")

    def floor_script(self):
        return (f"\\set q random(0, {len(self.data['test']) - 1})\n"
                "SELECT 1 FROM queries WHERE qid = :q AND v IS NOT NULL;\n")

    def pgbench(self, script, clients=1, ef=None, pin=False):
        settings = [f"hnsw.ef_search={ef}"] if ef else []
        return common.pgbench_qps(script, self.args.seconds, clients, self.dbname, settings, pin)

    def pgbench_sweep(self, sweep):
        """pgbench queries/s at each ef_search of a driver sweep (added to
        its rows), one client, unpinned, and pinned with --pinned."""
        for row in sweep:
            row["pgbench_qps"] = self.pgbench(self.knn_script(), 1, row["ef_search"])
            if common.PIN_CPU is not None:
                row["pgbench_pinned_qps"] = self.pgbench(self.knn_script(), 1, row["ef_search"], pin=True)
            print(f"  {self.name} pgbench ef {row['ef_search']:>4}: {row['pgbench_qps']:>8.0f} q/s"
                  + (f", pinned {row['pgbench_pinned_qps']:.0f}" if "pgbench_pinned_qps" in row else ""),
                  flush=True)

    def clients(self, ef):
        one = self.pgbench(self.knn_script(), 1, ef)
        two = self.pgbench(self.knn_script(), 2, ef)
        return {"ef_search": ef, "one_qps": one, "two_qps": two, "two_to_one": two / one}

    def inserts(self):
        """Single-row INSERTs from pgbench, one client and two, each its own
        transaction, after a checkpoint.  Each takes the next vector of
        insert_src (test vectors that are not queries; they come round
        again only after all of them), so no insert repeats another's
        vector unless the run outlasts them.  Then the inserted rows are
        deleted again.  None if there are no such vectors."""
        n = len(self.data["extra"])
        if n == 0:
            return None
        cur = self.conn.cursor()
        base = len(self.data["train"]) + 1000000
        cur.execute("CREATE SEQUENCE IF NOT EXISTS insert_seq")
        script = (f"INSERT INTO items (id, v) SELECT {base} + s.i, src.v "
                  f"FROM (SELECT nextval('insert_seq') AS i) s JOIN insert_src src ON src.id = s.i % {n};\n")
        cur.execute("CHECKPOINT")
        one = self.pgbench(script, 1)
        two = self.pgbench(script, 2)
        cur.execute("SELECT count(*) FROM items WHERE id >= %s", (base,))
        inserted = cur.fetchone()[0]
        cur.execute("DELETE FROM items WHERE id >= %s", (base,))
        cur.execute("VACUUM items")
        return {"one_client_rows_per_second": one, "two_clients_rows_per_second": two,
                "rows_inserted": inserted, "distinct_vectors": n}
