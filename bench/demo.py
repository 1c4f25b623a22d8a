#!/usr/bin/python3
"""The main job of hnsw, end to end, and its benchmark: load real vectors
into PostgreSQL, build an hnsw index, answer nearest-neighbour queries
through SQL and report recall@10 against an exact search, latency and
throughput; then the same for in-process hnswlib (Debian's python3-hnswlib)
with the same m and ef_construction, measured in the same run, and the
ratios between the two.  Also single-row INSERT throughput, two clients
against one, and the phases CREATE INDEX reported in
pg_stat_progress_create_index.  Results as JSON (--json) and the
recall/queries-per-second curves of both as a PNG (--png).

The index includes the id column (INCLUDE (id)), so the query `SELECT id
... ORDER BY v <-> q LIMIT 10` is an index-only scan: rows come out of the
index without a look at the table or its TOAST table.  The same queries
are also measured as a plain index scan of the same index
(enable_indexonlyscan off), which reads each row, and its vector, from
the table.

A one-client pgbench and its server process share one CPU (see
pin_backends); --unpinned lets them run anywhere.  The two-client figure is
unpinned.

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (the default), or
any ann-benchmarks HDF5 file (datasets train, test, neighbors, distances)
with --hdf5.  Exact ground truth for Fashion-MNIST is computed once with
numpy and cached.

Connects with the usual libpq environment (PGHOST, PGPORT, ...), as set
by bench/demo.sh.
"""

import argparse
import gzip
import io
import json
import os
import re
import struct
import sys
import time

import subprocess
import tempfile
import threading

import numpy as np
import psycopg2

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            sys.exit(f"{path}: not an IDX image file")
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols).astype(np.float32)


def read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        if magic != 2049:
            sys.exit(f"{path}: not an IDX label file")
        return np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)


def exact_neighbors(train, test, k):
    """Exact k nearest neighbours (L2) of every test vector, with distances."""
    train_sq = (train.astype(np.float64) ** 2).sum(axis=1)
    ids = np.empty((len(test), k), dtype=np.int64)
    dists = np.empty((len(test), k), dtype=np.float64)
    for start in range(0, len(test), 500):
        q = test[start:start + 500].astype(np.float64)
        d2 = train_sq[None, :] - 2.0 * q @ train.T.astype(np.float64) + (q ** 2).sum(axis=1)[:, None]
        part = np.argpartition(d2, k, axis=1)[:, :k]
        pd = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(pd, axis=1)
        ids[start:start + 500] = np.take_along_axis(part, order, axis=1)
        dists[start:start + 500] = np.sqrt(np.maximum(np.take_along_axis(pd, order, axis=1), 0))
    return ids, dists


def load_dataset(args):
    """train, test, ground-truth distances (n_test x k), name, and the
    class labels of train and test (None for an HDF5 file, which has none)"""
    if args.hdf5:
        import h5py
        with h5py.File(args.hdf5, "r") as f:
            metric = f.attrs.get("distance", "euclidean")
            if isinstance(metric, bytes):
                metric = metric.decode()
            if metric not in ("euclidean", "l2"):
                sys.exit(f"{args.hdf5}: distance '{metric}' is not supported by the demo (L2 only)")
            train = np.asarray(f["train"], dtype=np.float32)
            test = np.asarray(f["test"], dtype=np.float32)
            gt = np.asarray(f["distances"], dtype=np.float64)[:, :args.k] if args.train_limit is None else None
        name = os.path.basename(args.hdf5)
        labels = None
    else:
        train = read_idx_images(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
        test = read_idx_images(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
        gt = None
        name = "fashion-mnist-784-euclidean"
        labels = (read_idx_labels(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz")),
                  read_idx_labels(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz")))
    if args.train_limit:
        train = train[:args.train_limit]
        if labels is not None:
            labels = (labels[0][:args.train_limit], labels[1])
    test = test[:args.queries]
    if gt is not None:
        gt = gt[:args.queries]
    else:
        os.makedirs(args.cache, exist_ok=True)
        cache = os.path.join(args.cache, f"{name}-{len(train)}-{len(test)}-k{args.k}.npz")
        if os.path.exists(cache):
            gt = np.load(cache)["distances"]
        else:
            t0 = time.time()
            _, gt = exact_neighbors(train, test, args.k)
            np.savez(cache, distances=gt)
            print(f"exact ground truth computed in {time.time() - t0:.1f} s, cached in {cache}")
    return train, test, gt, name, labels


def vector_literal(v):
    return "{" + ",".join(repr(float(x)) for x in v) + "}"


def recall_of(train, test, gt, k, answers):
    """Tie-aware recall@k: an answer counts if it is no farther than the
    k-th exact neighbour."""
    found = 0
    for qi, ids in enumerate(answers):
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            continue
        d = np.sqrt(((train[ids] - test[qi]) ** 2).sum(axis=1))
        found += int((d <= gt[qi, k - 1] * (1 + 1e-6) + 1e-6).sum())
    return found / (len(test) * k)


def best_qps_at(sweep, recall):
    """The highest queries/s among sweep points with at least this recall."""
    ok = [r["qps"] for r in sweep if r["recall"] >= recall]
    return max(ok) if ok else None


def qps_at_recall(sweep, recall):
    """Queries/s at exactly this recall, read off the sweep's curve: linear
    between the points just below and just above it.  Returns (qps,
    bracketed); when the sweep starts above the recall, the first point's
    queries/s (which understates that side: sweep lower ef_search), and
    (None, False) when no point reaches it."""
    pts = sorted(sweep, key=lambda r: r["recall"])
    for i, p in enumerate(pts):
        if p["recall"] >= recall:
            if i == 0:
                return p["qps"], False
            lo = pts[i - 1]
            t = (recall - lo["recall"]) / (p["recall"] - lo["recall"])
            return lo["qps"] + t * (p["qps"] - lo["qps"]), True
    return None, False


def check_targets(report, ratios):
    """Print each of the project's speed and size targets (README,
    "Benchmark") with this run's figure, and return them as a list.  The
    insert target compares rows per second with the build's; it is checked
    with as many inserting clients as the build had processes (two: the
    leader and one worker), and with one client against the build in one
    process.  One client against the two-process build is printed beside
    them, as a figure only."""
    ins = report["inserts"]
    clients = report["clients"]
    rows = [
        ("CREATE INDEX time / hnswlib's build on 2 threads", ratios["build"], "<=", 1.5),
        ("index-only scan at recall 0.97, one client / hnswlib at the same recall",
         ratios.get("qps_at_recall_0.97"), ">=", 0.5),
        ("two clients / one client, at ef_search %d" % clients["ef_search"], clients["two_to_one"], ">=", 1.7),
        ("index size / raw float4 vectors", report["index_to_vectors"], "<=", 1.2),
        ("single-row INSERT, two clients / build with 1 worker (two processes each)",
         ins["pgbench_two_clients_rows_per_second"] / ins["build_rows_per_second"], ">=", 1 / 3),
        ("single-row INSERT, one client / build in one process",
         ins["pgbench_one_client_to_serial_build"], ">=", 1 / 3),
        ("single-row INSERT, one client / build with 1 worker (figure only)",
         ins["pgbench_one_client_rows_per_second"] / ins["build_rows_per_second"], None, 1 / 3),
    ]
    print("targets (README, \"Benchmark\"; set for the full run on Fashion-MNIST"
          + (", not this subset" if report["train"] < 60000 else "") + "):")
    out = []
    for name, value, op, bound in rows:
        if value is None:
            verdict = "not measured"
        elif op is None:
            verdict = "(%s 1/3)" % ("at least" if value >= bound else "below")
        else:
            met = value <= bound if op == "<=" else value >= bound
            verdict = "%s %.2f: %s" % (op, bound, "met" if met else "NOT MET")
        print(f"  {name}: " + (f"{value:.2f}x " if value is not None else "") + verdict)
        out.append({"target": name, "value": value, "op": op, "bound": bound, "verdict": verdict})
    return out


def run_hnswlib(args, train, test, gt, m, ef_construction, efs, nadd):
    """hnswlib's build, its query sweep, and then nadd test vectors added
    one after another on one thread: the in-process counterpart of one
    client's single-row INSERTs into the built index."""
    import hnswlib
    index = hnswlib.Index(space="l2", dim=train.shape[1])
    index.init_index(max_elements=len(train) + nadd, M=m, ef_construction=ef_construction, random_seed=100)
    index.set_num_threads(args.hnswlib_threads)
    t0 = time.perf_counter()
    index.add_items(train, np.arange(len(train)))
    build = time.perf_counter() - t0
    # one thread for queries: one client, like the SQL side
    index.set_num_threads(1)
    sweep = []
    for ef in efs:
        index.set_ef(max(ef, args.k))
        index.knn_query(test[:50], k=args.k)
        t0 = time.perf_counter()
        labels, _ = index.knn_query(test, k=args.k)
        elapsed = time.perf_counter() - t0
        sweep.append({"ef_search": ef, "recall": recall_of(train, test, gt, args.k, labels),
                      "qps": len(test) / elapsed})
    t0 = time.perf_counter()
    index.add_items(test[:nadd], np.arange(len(train), len(train) + nadd), num_threads=1)
    add_rate = nadd / (time.perf_counter() - t0)
    return build, sweep, add_rate


PGBENCH = os.environ.get("PGBENCH", "pgbench")

# The CPU that a one-client pgbench and its server process share (see
# --unpinned), or None
PIN_CPU = None


def pin_backends(proc, cpu):
    """Move the server process serving pgbench (its connection appears in
    pg_stat_activity a moment after it starts) to cpu, where pgbench runs.
    A query and its answer then pass between two processes on one CPU, as
    calls within one process do, instead of waking the other CPU each way:
    on a virtual machine a wake-up of an idle virtual CPU takes tens of
    microseconds (on this project's machine a statement that does nothing
    ran at about 15,000/s across CPUs and 58,000/s on one)."""
    conn = psycopg2.connect("")
    conn.autocommit = True
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


FILTER_EFS = (10, 20, 40)


def filtered_search(cur, args, train, test, labels, with_clause):
    """Queries with a WHERE clause that 10%, 1% and 0.1% of the rows match,
    three ways: the filter columns of an index (v, category, f10, f100,
    f1000), which check the qual during the walk or rank the rows that
    pass; the plain index with the qual checked by the executor above an
    iterative scan; and an exact scan (no index).  The columns: category,
    Fashion-MNIST's 10 class labels (only for that data set); f10, f100,
    f1000 = id % 10, % 100, % 1000.  Query qid asks for the value qid % n
    of each: for category a class other than its own 9 times in 10, whose
    rows lie far from it, and for fN rows spread evenly around it; and, as
    "own class", for its own class, whose rows are mostly its neighbours.
    For each, and each ef_search of the index ways: recall@k against
    numpy's exact filtered neighbours, the fewest rows a query got, and
    queries/s (pgbench, one client).  The filter columns are measured
    twice: as built by default, and with value links (filter_links =
    --filter-links), along which a walk for "column = value" stays among
    the matching rows."""
    nq = min(len(test), 200 if args.small else 500)
    ids = np.arange(len(train))
    # the rows of the INSERT test are not in the exact answers: drop them
    cur.execute("DELETE FROM items WHERE id >= %s", (len(train),))
    cur.execute("ALTER TABLE items ADD COLUMN category int, ADD COLUMN f10 int, "
                "ADD COLUMN f100 int, ADD COLUMN f1000 int")
    cur.execute("UPDATE items SET f10 = id % 10, f100 = id % 100, f1000 = id % 1000")
    # (name, column, its value in each row, the value query qi asks for,
    # that value in SQL with :q for qi)
    cases = [(f"f{n}", f"f{n}", ids % n, (lambda qi, n=n: qi % n), f":q % {n}")
             for n in (10, 100, 1000)]
    if labels is not None:
        train_labels, test_labels = labels
        cur.execute("CREATE TEMP TABLE item_labels (id int, label int)")
        cur.copy_from(io.StringIO("".join(f"{i}\t{int(c)}\n" for i, c in enumerate(train_labels))),
                      "item_labels")
        cur.execute("UPDATE items SET category = l.label FROM item_labels l WHERE l.id = items.id")
        cur.execute("ALTER TABLE queries ADD COLUMN label int")
        cur.execute("CREATE TEMP TABLE query_labels (qid int, label int)")
        cur.copy_from(io.StringIO("".join(f"{i}\t{int(c)}\n" for i, c in enumerate(test_labels[:len(test)]))),
                      "query_labels")
        cur.execute("UPDATE queries SET label = l.label FROM query_labels l WHERE l.qid = queries.qid")
        cases[0:0] = [("category", "category", train_labels, lambda qi: qi % 10, ":q % 10"),
                      ("own class", "category", train_labels, lambda qi: int(test_labels[qi]),
                       "(SELECT label FROM queries WHERE qid = :q)")]
    cur.execute("VACUUM ANALYZE items")
    cur.execute("VACUUM ANALYZE queries")

    truth = {}
    for name, _, values, wanted, _ in cases:
        kth = []
        for qi in range(nq):
            sel = ids[values == wanted(qi)]
            d = ((train[sel] - test[qi]) ** 2).sum(axis=1)
            kth.append(np.sort(d)[min(args.k, len(d)) - 1])
        truth[name] = kth

    def measure(name, where, settings):
        """recall, fewest rows and queries/s of one way of asking"""
        for sql in settings:
            cur.execute(sql)
        found = 0
        min_rows = args.k
        for qi in range(nq):
            cur.execute(f"SELECT id FROM items WHERE {where.replace('%', '%%').replace(':q', '%s')} "
                        f"ORDER BY v <-> (SELECT v FROM queries WHERE qid = %s) LIMIT {args.k}",
                        (qi,) * (where.count(":q") + 1))
            got = [r[0] for r in cur.fetchall()]
            min_rows = min(min_rows, len(got))
            if got:
                dg = ((train[got] - test[qi]) ** 2).sum(axis=1)
                found += int((dg <= truth[name][qi] * (1 + 1e-6) + 1e-6).sum())
        for sql in settings:
            cur.execute("RESET " + sql.split()[1])
        script = (f"\\set q random(0, {nq - 1})\n" + "".join(s + ";\n" for s in settings) +
                  f"SELECT id FROM items WHERE {where} "
                  f"ORDER BY v <-> (SELECT v FROM queries WHERE qid = :q) LIMIT {args.k};\n")
        return {"recall": found / (nq * args.k), "min_rows": min_rows,
                "qps": pgbench_qps(script, args.seconds, 1)}

    print(f"filtered queries ({nq} queries, pgbench {args.seconds} s per figure):")
    out = {name: {"case": name, "column": col, "matching": float(np.mean(values == wanted(0))),
                  "executor": {}, "filter_columns": {}, "value_links": {}}
           for name, col, values, wanted, _ in cases}
    # the plain index: the qual is checked above an iterative scan ("+ 0"
    # keeps it out of an index with filter columns, were there one)
    for name, col, _, _, value in cases:
        out[name]["exact"] = measure(name, f"{col} = {value}", ["SET enable_indexscan = off"])
        for ef in FILTER_EFS:
            out[name]["executor"][ef] = measure(name, f"{col} + 0 = {value}",
                                                [f"SET hnsw.ef_search = {ef}", "SET enable_seqscan = off"])
    columns = ", ".join(dict.fromkeys(col for _, col, _, _, _ in cases))
    cur.execute("DROP INDEX items_v_idx")
    builds = {}
    for way, clause in (("filter_columns", with_clause),
                        ("value_links", with_clause[:-1] + f", filter_links = {args.filter_links})")):
        t0 = time.time()
        cur.execute(f"CREATE INDEX items_vf_idx ON items USING hnsw (v, {columns}){clause}")
        builds[way] = time.time() - t0
        cur.execute("SELECT pg_relation_size('items_vf_idx')")
        size = cur.fetchone()[0]
        print(f"CREATE INDEX ... (v, {columns}){clause}: {builds[way]:.1f} s, {size / 2**20:.1f} MiB")
        for name, col, _, _, value in cases:
            for ef in FILTER_EFS:
                out[name][way][ef] = measure(name, f"{col} = {value}",
                                             [f"SET hnsw.ef_search = {ef}", "SET enable_seqscan = off"])
            # what the planner picks by itself
            cur.execute(f"EXPLAIN SELECT id FROM items WHERE {col} = {value.replace(':q', '7')} "
                        f"ORDER BY v <-> (SELECT v FROM queries WHERE qid = 7) LIMIT {args.k}")
            plan = [r[0] for r in cur.fetchall()]
            out[name]["planner_picks"] = "filter columns" if any(f"Index Cond: ({col}" in p for p in plan) \
                else "exact scan" if any("Seq Scan on items" in p for p in plan) else "other"
        cur.execute("DROP INDEX items_vf_idx")

    def label(name):
        return f"{100.0 * out[name]['matching']:.1f}% {name}"

    print(f"{'matching':>16} {'way':>15} {'ef':>4} {'recall@%d' % args.k:>10} {'min rows':>9} {'q/s':>8}")
    for name, _, _, _, _ in cases:
        r = out[name]
        for way in ("value_links", "filter_columns", "executor"):
            for ef in FILTER_EFS:
                x = r[way][ef]
                print(f"{label(name):>16} {way:>15} {ef:>4} {x['recall']:>10.4f} {x['min_rows']:>9} {x['qps']:>8.0f}")
        x = r["exact"]
        print(f"{label(name):>16} {'exact scan':>15} {'':>4} {x['recall']:>10.4f} {x['min_rows']:>9} {x['qps']:>8.0f}")
    print("best queries/s at recall >= 0.95 with every query getting its rows:")
    print(f"{'matching':>16} {'value links':>12} {'filter cols':>12} {'executor':>9} {'exact':>7} "
          f"{'links/exec':>11} {'cols/exec':>10} {'links/exact':>12}  planner picks")
    for name, _, _, _, _ in cases:
        r = out[name]

        def best(way):
            ok = [x["qps"] for x in r[way].values() if x["recall"] >= 0.95 and x["min_rows"] == args.k]
            return max(ok) if ok else None
        vl, fc, ex = best("value_links"), best("filter_columns"), best("executor")
        exact = r["exact"]["qps"]
        r["best"] = {"value_links": vl, "filter_columns": fc, "executor": ex, "exact": exact}

        def fmt(v):
            return f"{v:.0f}" if v else "-"

        def ratio(a, b):
            return f"{a / b:.1f}x" if a and b else "-"
        print(f"{label(name):>16} {fmt(vl):>12} {fmt(fc):>12} {fmt(ex):>9} {exact:>7.0f} "
              f"{ratio(vl, ex):>11} {ratio(fc, ex):>10} {ratio(vl, exact):>12}  {r['planner_picks']}")
    return [dict(out[name], builds=builds,
                 executor={str(k): v for k, v in out[name]["executor"].items()},
                 filter_columns={str(k): v for k, v in out[name]["filter_columns"].items()},
                 value_links={str(k): v for k, v in out[name]["value_links"].items()})
            for name, _, _, _, _ in cases]


def pgbench_qps(script, seconds, clients, ef=None, index_only=True, pin=True):
    """Transactions/s of pgbench running script (prepared statements,
    each client its own connection and thread).  One client runs on the
    same CPU as its server process (PIN_CPU), unless pin is false or
    --unpinned was given."""
    env = dict(os.environ)
    options = [] if index_only else ["-c enable_indexonlyscan=off"]
    if ef is not None:
        options.append(f"-c hnsw.ef_search={ef}")
    if options:
        env["PGOPTIONS"] = " ".join(options)
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
            pin_backends(proc, cpu)
        out, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"pgbench failed:\n{out}{err}")
    finally:
        os.unlink(path)
    m = re.search(r"tps = ([0-9.]+)", out)
    if not m:
        sys.exit("pgbench printed no tps:\n" + out)
    return float(m.group(1))


def prepare_knn(cur, k):
    """(Re)prepare the query, so its plan follows the settings now."""
    cur.execute("DEALLOCATE ALL")
    cur.execute("PREPARE knn(int) AS SELECT id FROM items ORDER BY v <-> "
                "(SELECT v FROM queries WHERE qid = $1) LIMIT %s" % k)


def knn_script(nqueries, k):
    return (f"\\set q random(0, {nqueries - 1})\n"
            f"SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries WHERE qid = :q) LIMIT {k};\n")


def sql_sweep(cur, efs, args, train, test, gt, index_only=True):
    """For each ef_search: recall and latency from one pass over the
    queries, throughput from pgbench over the same queries; as an
    index-only scan or (index_only False) a plain index scan."""
    results = []
    cur.execute(f"SET enable_indexonlyscan = {'on' if index_only else 'off'}")
    prepare_knn(cur, args.k)
    for ef in efs:
        cur.execute(f"SET hnsw.ef_search = {ef}")
        for qi in range(min(20, len(test))):
            cur.execute("EXECUTE knn(%s)", (qi,))
            cur.fetchall()
        latencies = []
        answers = []
        for qi in range(len(test)):
            t = time.perf_counter()
            cur.execute("EXECUTE knn(%s)", (qi,))
            answers.append([r[0] for r in cur.fetchall()])
            latencies.append(time.perf_counter() - t)
        lat = np.array(latencies) * 1000
        qps = pgbench_qps(knn_script(len(test), args.k), args.seconds, 1, ef, index_only)
        row = {"ef_search": ef, "recall": recall_of(train, test, gt, args.k, answers),
               "qps": qps, "p50_ms": float(np.percentile(lat, 50)),
               "p99_ms": float(np.percentile(lat, 99))}
        results.append(row)
        print(f"{ef:>9} {row['recall']:>10.4f} {row['qps']:>10.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}")
    return results


class ProgressWatcher(threading.Thread):
    """Samples pg_stat_progress_create_index while CREATE INDEX runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.phases = []
        self.samples = 0

    def run(self):
        conn = psycopg2.connect("")
        conn.autocommit = True
        cur = conn.cursor()
        while not self.stop.is_set():
            cur.execute("SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index")
            for phase, done, total in cur.fetchall():
                self.samples += 1
                if not self.phases or self.phases[-1]["phase"] != phase:
                    self.phases.append({"phase": phase, "tuples_done": done, "tuples_total": total})
                else:
                    self.phases[-1].update(tuples_done=done, tuples_total=total)
            time.sleep(0.2)
        conn.close()


def draw(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, sweep, style in (("hnsw through SQL, index-only scan", report["sweep"], "o-"),
                                ("hnsw through SQL, index scan", report["sweep_index_scan"], "^:"),
                                ("hnswlib in process", report["hnswlib"]["sweep"], "s--")):
        pts = sorted((r["recall"], r["qps"]) for r in sweep)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    ax.set_xlabel(f"recall@{report['k']}")
    ax.set_ylabel("queries per second (one client"
                  + (", on one CPU with its server)" if report.get("pinned_cpu") is not None else ")"))
    ax.set_yscale("log")
    ax.set_title(f"{report['dataset']}, {report['train']} vectors\n"
                 f"{report['index_options']}, k = {report['k']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hdf5", help="an ann-benchmarks HDF5 file instead of Fashion-MNIST")
    ap.add_argument("--queries", type=int, default=1000, help="number of test vectors to query (default 1000)")
    ap.add_argument("--train-limit", type=int, help="index only the first N training vectors")
    ap.add_argument("--small", action="store_true",
                    help="a few minutes for CI: 10,000 vectors, 300 queries, a short sweep")
    ap.add_argument("--m", type=int, default=16, help="index option m (default 16)")
    ap.add_argument("--ef-construction", type=int, default=64, help="index option ef_construction (default 64)")
    ap.add_argument("--index-options", help="more index options, e.g. 'keep_pruned = false'")
    ap.add_argument("--ef-search", default="10,20,40,100,200", help="comma-separated hnsw.ef_search values")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=10, help="pgbench run per throughput figure (default 10)")
    ap.add_argument("--inserts", type=int, default=2000, help="single-row INSERTs per batch, two batches timed after a checkpoint")
    ap.add_argument("--filtered", action="store_true",
                    help="also measure filtered queries (10%%, 1%%, 0.1%% of rows match): filter "
                         "columns, an iterative scan under the executor's filter, and an exact scan")
    ap.add_argument("--filter-links", type=int, default=16,
                    help="filter_links of the second filtered index (default 16)")
    ap.add_argument("--no-hnswlib", action="store_true", help="skip the in-process hnswlib reference")
    ap.add_argument("--hnswlib-threads", type=int, default=2, help="threads for the hnswlib build (default 2)")
    ap.add_argument("--cache", default=os.environ.get("HNSW_CACHE", "/var/tmp/hnsw-cache"))
    ap.add_argument("--json", help="write the results here as JSON")
    ap.add_argument("--png", help="draw the recall/queries-per-second curves here")
    ap.add_argument("--huge-pages", action="store_true",
                    help="demo.sh starts the cluster with huge_pages = on (shared buffers in 2 MB pages)")
    ap.add_argument("--unpinned", action="store_true",
                    help="let a one-client pgbench and its server process run on any CPU (by "
                         "default they share one; the two-client figure is always unpinned)")
    args = ap.parse_args()
    global PIN_CPU
    if not args.unpinned and len(os.sched_getaffinity(0)) > 1:
        PIN_CPU = max(os.sched_getaffinity(0))
    if args.small:
        args.train_limit = args.train_limit or 10000
        args.queries = min(args.queries, 300)
        args.inserts = min(args.inserts, 300)
        args.ef_search = "10,40,100"
        args.seconds = min(args.seconds, 3)
    efs = [int(x) for x in args.ef_search.split(",")]

    train, test, gt, name, labels = load_dataset(args)
    print(f"data: {name}: {len(train)} vectors of {train.shape[1]} dimensions, {len(test)} queries")

    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT version()")
    print("server:", cur.fetchone()[0].split(",")[0])
    cur.execute("SHOW shared_buffers")
    shared_buffers = cur.fetchone()[0]
    cur.execute("SHOW huge_pages")
    huge_pages = cur.fetchone()[0]
    print(f"shared_buffers {shared_buffers}, huge_pages {huge_pages}")
    cur.execute("DROP TABLE IF EXISTS items")
    cur.execute("CREATE EXTENSION IF NOT EXISTS hnsw")
    cur.execute("CREATE TABLE items (id int, v real[])")
    t0 = time.time()
    buf = io.StringIO()
    for i, v in enumerate(train):
        buf.write(f"{i}\t{{{','.join('%g' % x for x in v)}}}\n")
    buf.seek(0)
    cur.copy_expert("COPY items (id, v) FROM STDIN", buf)
    cur.execute("ALTER TABLE items ALTER COLUMN v SET STORAGE EXTERNAL")
    cur.execute("VACUUM ANALYZE items")
    print(f"loaded {len(train)} rows in {time.time() - t0:.1f} s")

    extra = f", {args.index_options}" if args.index_options else ""
    with_clause = f" WITH (m = {args.m}, ef_construction = {args.ef_construction}{extra})"
    cur.execute("SET maintenance_work_mem = '2GB'")
    cur.execute("SET max_parallel_maintenance_workers = 1")
    watcher = ProgressWatcher()
    watcher.start()
    t0 = time.time()
    cur.execute(f"CREATE INDEX items_v_idx ON items USING hnsw (v float4_l2_ops) INCLUDE (id){with_clause}")
    build_seconds = time.time() - t0
    watcher.stop.set()
    watcher.join()
    cur.execute("SELECT pg_relation_size('items_v_idx'), pg_relation_size('items_v_idx') / "
                "(count(*) * 4.0 * %s) FROM items", (train.shape[1],))
    index_bytes, size_ratio = cur.fetchone()
    size_ratio = float(size_ratio)
    print(f"CREATE INDEX{with_clause}: {build_seconds:.1f} s; index {index_bytes / 2**20:.1f} MiB "
          f"({size_ratio:.2f}x the raw float4 vectors)")
    print("progress phases seen:", "; ".join(
        f"{p['phase']} ({p['tuples_done']}/{p['tuples_total']} tuples)" for p in watcher.phases) or "none")
    # the same build in one process, for the inserts: one client inserts in
    # one process, the build above ran in two
    cur.execute("SET max_parallel_maintenance_workers = 0")
    t0 = time.time()
    cur.execute(f"CREATE INDEX items_serial_idx ON items USING hnsw (v float4_l2_ops) INCLUDE (id){with_clause}")
    serial_build_seconds = time.time() - t0
    cur.execute("DROP INDEX items_serial_idx")
    cur.execute("SET max_parallel_maintenance_workers = 1")
    print(f"the same CREATE INDEX in one process (max_parallel_maintenance_workers = 0): "
          f"{serial_build_seconds:.1f} s")

    # the query vectors live in a table: clients send a query number, and
    # the client's own cost (formatting and sending 784 floats as text) is
    # not what is measured
    cur.execute("DROP TABLE IF EXISTS queries")
    cur.execute("CREATE TABLE queries (qid int PRIMARY KEY, v real[])")
    buf = io.StringIO()
    for i, v in enumerate(test):
        buf.write(f"{i}\t{vector_literal(v)}\n")
    buf.seek(0)
    cur.execute("ALTER TABLE queries ALTER COLUMN v SET STORAGE EXTERNAL")
    cur.copy_expert("COPY queries (qid, v) FROM STDIN", buf)
    cur.execute("VACUUM ANALYZE queries")
    prepare_knn(cur, args.k)
    cur.execute("EXPLAIN (COSTS OFF) EXECUTE knn(0)")
    plan = [r[0] for r in cur.fetchall()]
    print("plan:", " / ".join(p.strip() for p in plan))

    # the floor: the same statement without the search
    floor_script = (f"\\set q random(0, {len(test) - 1})\n"
                    "SELECT 1 FROM queries WHERE qid = :q AND v IS NOT NULL;\n")
    floor_qps = pgbench_qps(floor_script, args.seconds, 1)
    floor_unpinned = pgbench_qps(floor_script, args.seconds, 1, pin=False) if PIN_CPU is not None else None
    print(f"floor: a prepared SELECT that only fetches the query vector: {floor_qps:.0f}/s"
          + (f" (client and server on CPU {PIN_CPU}); {floor_unpinned:.0f}/s unpinned"
             if floor_unpinned else ""))

    print(f"hnsw through SQL, index-only scan, one client (pgbench, {args.seconds} s per figure):")
    print(f"{'ef_search':>9} {'recall@%d' % args.k:>10} {'queries/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    results = sql_sweep(cur, efs, args, train, test, gt)
    print("the same, as a plain index scan (enable_indexonlyscan off: each row and its vector "
          "read from the table):")
    plain_results = sql_sweep(cur, efs, args, train, test, gt, index_only=False)
    cur.execute("RESET enable_indexonlyscan")
    prepare_knn(cur, args.k)

    # two clients at the ef_search of the best point with recall >= 0.97
    good = [r for r in results if r["recall"] >= 0.97] or results
    ef2 = max(good, key=lambda r: r["qps"])["ef_search"]
    one = pgbench_qps(knn_script(len(test), args.k), args.seconds, 1, ef2)
    one_unpinned = (pgbench_qps(knn_script(len(test), args.k), args.seconds, 1, ef2, pin=False)
                    if PIN_CPU is not None else one)
    two = pgbench_qps(knn_script(len(test), args.k), args.seconds, 2, ef2)
    print(f"clients at ef_search {ef2}: one {one:.0f} q/s"
          + (" (on one CPU with its server process)" if PIN_CPU is not None else "")
          + f", one unpinned {one_unpinned:.0f} q/s, two {two:.0f} q/s "
          f"({two / one:.2f}x the first, {two / one_unpinned:.2f}x the unpinned)")

    # single-row INSERTs, each its own transaction, of test vectors; like
    # the queries, each takes its vector from the queries table, so
    # formatting 784 floats in the client is not what is timed.  Two
    # batches after a checkpoint: in the first, most pages an insert
    # changes are changed for the first time since the checkpoint and go to
    # WAL whole (full-page writes); in the second, mostly not.  Over a
    # checkpoint interval the second is the rate most inserts see.
    n = max(min(args.inserts, len(test) // 2), 1)
    cur.execute("CHECKPOINT")
    insert_rates = []
    for batch in range(2):
        start = len(test) - (2 - batch) * n
        t0 = time.perf_counter()
        for i in range(n):
            cur.execute("INSERT INTO items (id, v) SELECT %s, v FROM queries WHERE qid = %s",
                        (len(train) + batch * n + i, start + i))
        insert_rates.append(n / (time.perf_counter() - t0))
    build_rate = len(train) / build_seconds
    print(f"single-row INSERT, {n} rows after a checkpoint: {insert_rates[0]:.0f} rows/s, "
          f"the next {n}: {insert_rates[1]:.0f} rows/s; the build: {build_rate:.0f} rows/s "
          f"({insert_rates[0] / build_rate:.2f}x, {insert_rates[1] / build_rate:.2f}x)")
    # the same single-row INSERTs from pgbench, one client and then two
    # (the build above ran in two processes too)
    def insert_into(table):
        return (f"\\set q random(0, {len(test) - 1})\n"
                f"INSERT INTO {table} (id, v) SELECT {len(train) + 2 * n} + :q, v FROM queries "
                f"WHERE qid = :q;\n")
    insert_script = insert_into("items")
    insert_one = pgbench_qps(insert_script, args.seconds, 1)
    insert_one_unpinned = (pgbench_qps(insert_script, args.seconds, 1, pin=False)
                           if PIN_CPU is not None else insert_one)
    insert_two = pgbench_qps(insert_script, args.seconds, 2)
    serial_build_rate = len(train) / serial_build_seconds
    # the floor of an INSERT: the same statement into a table without the
    # index (its vector stored the same way)
    cur.execute("CREATE TABLE items_unindexed (id int, v real[])")
    cur.execute("ALTER TABLE items_unindexed ALTER COLUMN v SET STORAGE EXTERNAL")
    insert_floor = pgbench_qps(insert_into("items_unindexed"), args.seconds, 1)
    cur.execute("DROP TABLE items_unindexed")
    # inserts can leave elements that no list leads to (README, "Known
    # gaps"); count them, and whether autovacuum (which links them back)
    # has been through the table meanwhile
    cur.execute("SELECT count(*) FROM hnsw_verify('items_v_idx') "
                "WHERE problem LIKE '%cannot be reached%'")
    unreachable = cur.fetchone()[0]
    cur.execute("SELECT n_live_tup + n_dead_tup, autovacuum_count FROM pg_stat_user_tables "
                "WHERE relid = 'items'::regclass")
    rows_after, autovacuums = cur.fetchone()
    # pgbench inserts the same query vectors again and again: many copies of
    # one value (README, "Known gaps")
    cur.execute("SELECT count(*), count(DISTINCT v) FROM items WHERE id >= %s", (len(train),))
    inserted, inserted_distinct = cur.fetchone()
    print(f"single-row INSERT from pgbench: one client {insert_one:.0f} rows/s ({insert_one / build_rate:.2f}x "
          f"the build), unpinned {insert_one_unpinned:.0f} rows/s ({insert_one_unpinned / build_rate:.2f}x), "
          f"two clients {insert_two:.0f} rows/s ({insert_two / build_rate:.2f}x)")
    print(f"  against the build in one process ({serial_build_rate:.0f} rows/s): one client "
          f"{insert_one / serial_build_rate:.2f}x, the second batch {insert_rates[1] / serial_build_rate:.2f}x")
    print(f"  the same INSERT into a table without the index: {insert_floor:.0f} rows/s; per row "
          f"{1000 / insert_one:.2f} ms with the index, {1000 / insert_floor:.2f} ms without")
    print(f"after the inserts, hnsw_verify: {unreachable} of about {rows_after} rows' elements cannot be "
          f"reached from the entry point (autovacuums of the table so far: {autovacuums}); the "
          f"{inserted} rows inserted hold {inserted_distinct} distinct vectors (README, \"Known gaps\")")

    report = {"dataset": name, "train": len(train), "queries": len(test), "k": args.k,
              "shared_buffers": shared_buffers, "huge_pages": huge_pages,
              "index_options": with_clause.strip(), "build_seconds": build_seconds,
              "index_bytes": index_bytes, "index_to_vectors": size_ratio,
              "progress_phases": watcher.phases, "plan": plan, "floor_qps": floor_qps,
              "floor_unpinned_qps": floor_unpinned, "pinned_cpu": PIN_CPU,
              "sweep": results, "sweep_index_scan": plain_results,
              "clients": {"ef_search": ef2, "one_qps": one, "one_unpinned_qps": one_unpinned,
                          "two_qps": two, "two_to_one": two / one,
                          "two_to_one_unpinned": two / one_unpinned},
              "inserts": {"rows_per_batch": n,
                          "after_checkpoint_rows_per_second": insert_rates[0],
                          "next_rows_per_second": insert_rates[1],
                          "build_rows_per_second": build_rate,
                          "serial_build_seconds": serial_build_seconds,
                          "serial_build_rows_per_second": serial_build_rate,
                          "pgbench_one_client_to_serial_build": insert_one / serial_build_rate,
                          "unreachable_after": unreachable, "rows_after": rows_after,
                          "autovacuums": autovacuums,
                          "inserted_rows": inserted, "inserted_distinct_vectors": inserted_distinct,
                          "insert_to_build": insert_rates[1] / build_rate,
                          "after_checkpoint_to_build": insert_rates[0] / build_rate,
                          "pgbench_one_client_rows_per_second": insert_one,
                          "pgbench_one_client_unpinned_rows_per_second": insert_one_unpinned,
                          "pgbench_two_clients_rows_per_second": insert_two,
                          "pgbench_one_client_unindexed_rows_per_second": insert_floor}}

    if not args.no_hnswlib:
        nadd = min(len(test), 5000)
        hbuild, hsweep, hadd = run_hnswlib(args, train, test, gt, args.m, args.ef_construction, efs, nadd)
        hbuild_rate = len(train) / hbuild
        print(f"hnswlib in process (python3-hnswlib), same m and ef_construction: "
              f"build {hbuild:.1f} s on {args.hnswlib_threads} threads")
        print(f"{'ef':>9} {'recall@%d' % args.k:>10} {'queries/s':>10}")
        for r in hsweep:
            print(f"{r['ef_search']:>9} {r['recall']:>10.4f} {r['qps']:>10.0f}")
        print(f"then {nadd} test vectors added on one thread: {hadd:.0f} rows/s, "
              f"{hadd / hbuild_rate:.2f}x its own build's {hbuild_rate:.0f} rows/s")
        ratios = {"build": build_seconds / hbuild, "insert_one_client_to_hnswlib_add": insert_one / hadd}
        print(f"ratios (hnsw / hnswlib, same run): build time {ratios['build']:.2f}x; "
              f"single-row INSERT from one client / hnswlib's add on one thread "
              f"{insert_one:.0f} / {hadd:.0f} = {ratios['insert_one_client_to_hnswlib_add']:.2f}x "
              f"(per row: {1000 / insert_one:.2f} ms, of which {1000 / insert_floor:.2f} ms without the "
              f"index; hnswlib {1000 / hadd:.2f} ms)")
        # at the same recall, read off both curves; and the best sweep point
        # of each side at or above it (which can compare different recalls)
        for way, sweep, prefix in (("index-only scan", results, ""),
                                   ("plain index scan", plain_results, "index_scan_")):
            print(f"  {way}:")
            for target in (0.95, 0.97, 0.99):
                (ours, ob), (theirs, tb) = qps_at_recall(sweep, target), qps_at_recall(hsweep, target)
                if ours and theirs:
                    ratios[f"{prefix}qps_at_recall_{target}"] = ours / theirs
                    note = "" if ob and tb else " (a curve starts above it: sweep lower ef_search)"
                    print(f"    queries/s at recall {target}, interpolated: {ours:.0f} / {theirs:.0f} = "
                          f"{ours / theirs:.2f}x{note}")
                else:
                    print(f"    queries/s at recall {target}: not reached by both sweeps")
                ours, theirs = best_qps_at(sweep, target), best_qps_at(hsweep, target)
                if ours and theirs:
                    ratios[f"{prefix}qps_best_at_least_{target}"] = ours / theirs
                    print(f"    best sweep point with recall >= {target}: {ours:.0f} / {theirs:.0f} = "
                          f"{ours / theirs:.2f}x")
        # the one-client figures at the two-client point, pinned and
        # unpinned, against hnswlib's curve at that point's recall
        recall2 = next(r["recall"] for r in results if r["ef_search"] == ef2)
        theirs, bracketed = qps_at_recall(hsweep, recall2)
        if theirs:
            ratios["one_client_at_two_client_point"] = one / theirs
            ratios["one_client_unpinned_at_two_client_point"] = one_unpinned / theirs
            print(f"  one client at ef_search {ef2} (recall {recall2:.4f}) against hnswlib's curve at that "
                  f"recall ({theirs:.0f}): {one / theirs:.2f}x, unpinned {one_unpinned / theirs:.2f}x"
                  + ("" if bracketed else " (hnswlib's curve starts above it)"))
        report["hnswlib"] = {"build_seconds": hbuild, "threads": args.hnswlib_threads, "sweep": hsweep,
                             "added_rows": nadd, "add_one_thread_rows_per_second": hadd,
                             "add_to_own_build": hadd / hbuild_rate}
        report["ratios"] = ratios
        report["targets"] = check_targets(report, ratios)

    if args.filtered:
        report["filtered"] = filtered_search(cur, args, train, test, labels, with_clause)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print("results written to", args.json)
    if args.png and "hnswlib" in report:
        draw(report, args.png)
        print("plot written to", args.png)


if __name__ == "__main__":
    main()
