#!/usr/bin/python3
"""The main job of hnsw, end to end: load real vectors into PostgreSQL,
build an hnsw index, answer nearest-neighbour queries through SQL and
report recall@10 against an exact search, latency and throughput.

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (the default), or
any ann-benchmarks HDF5 file (datasets train, test, neighbors, distances)
with --hdf5.  Exact ground truth for Fashion-MNIST is computed once with
numpy and cached.

Connects with the usual libpq environment (PGHOST, PGPORT, ...), as set
by pg_virtualenv in bench/demo.sh.
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

import numpy as np
import psycopg2

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            sys.exit(f"{path}: not an IDX image file")
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows * cols).astype(np.float32)


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
    """train, test, ground-truth distances (n_test x k), name"""
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
    else:
        train = read_idx_images(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
        test = read_idx_images(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
        gt = None
        name = "fashion-mnist-784-euclidean"
    if args.train_limit:
        train = train[:args.train_limit]
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
    return train, test, gt, name


def vector_literal(v):
    return "{" + ",".join(repr(float(x)) for x in v) + "}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hdf5", help="an ann-benchmarks HDF5 file instead of Fashion-MNIST")
    ap.add_argument("--queries", type=int, default=1000, help="number of test vectors to query (default 1000)")
    ap.add_argument("--train-limit", type=int, help="index only the first N training vectors (small mode)")
    ap.add_argument("--m", type=int, default=None, help="index option m (default: the extension's)")
    ap.add_argument("--ef-construction", type=int, default=None, help="index option ef_construction (default: the extension's)")
    ap.add_argument("--ef-search", default="40,100,200", help="comma-separated hnsw.ef_search values")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--cache", default=os.environ.get("HNSW_CACHE", "/var/tmp/hnsw-cache"))
    ap.add_argument("--json", help="write the results here as JSON")
    args = ap.parse_args()

    train, test, gt, name = load_dataset(args)
    print(f"data: {name}: {len(train)} vectors of {train.shape[1]} dimensions, {len(test)} queries")

    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT version()")
    print("server:", cur.fetchone()[0].split(",")[0])
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

    options = []
    if args.m is not None:
        options.append(f"m = {args.m}")
    if args.ef_construction is not None:
        options.append(f"ef_construction = {args.ef_construction}")
    with_clause = f" WITH ({', '.join(options)})" if options else ""
    cur.execute("SET maintenance_work_mem = '2GB'")
    t0 = time.time()
    cur.execute(f"CREATE INDEX items_v_idx ON items USING hnsw (v float4_l2_ops){with_clause}")
    build_seconds = time.time() - t0
    cur.execute("SELECT pg_relation_size('items_v_idx'), pg_relation_size('items_v_idx') / "
                "(count(*) * 4.0 * %s) FROM items", (train.shape[1],))
    index_bytes, size_ratio = cur.fetchone()
    print(f"CREATE INDEX{with_clause}: {build_seconds:.1f} s; index {index_bytes / 2**20:.1f} MiB "
          f"({float(size_ratio):.2f}x the raw float4 vectors)")

    cur.execute("PREPARE knn(real[]) AS SELECT id FROM items ORDER BY v <-> $1 LIMIT %s" % args.k)
    literals = [vector_literal(q) for q in test]
    cur.execute("EXPLAIN (COSTS OFF) EXECUTE knn(%s)", (literals[0],))
    plan = [r[0] for r in cur.fetchall()]
    shown = [re.sub(r"'\{[^']*\}'", "'{...}'", p.strip()) for p in plan]
    print("plan:", " / ".join(shown))

    results = []
    print(f"{'ef_search':>9} {'recall@%d' % args.k:>10} {'queries/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for ef in [int(x) for x in args.ef_search.split(",")]:
        cur.execute(f"SET hnsw.ef_search = {ef}")
        # warm the cache with a few queries
        for lit in literals[:20]:
            cur.execute("EXECUTE knn(%s)", (lit,))
            cur.fetchall()
        latencies = []
        found = 0
        start = time.perf_counter()
        for qi, lit in enumerate(literals):
            t = time.perf_counter()
            cur.execute("EXECUTE knn(%s)", (lit,))
            ids = [r[0] for r in cur.fetchall()]
            latencies.append(time.perf_counter() - t)
            d = np.sqrt(((train[ids] - test[qi]) ** 2).sum(axis=1))
            found += int((d <= gt[qi, args.k - 1] * (1 + 1e-6) + 1e-6).sum())
        elapsed = time.perf_counter() - start
        lat = np.array(latencies) * 1000
        row = {"ef_search": ef, "recall": found / (len(test) * args.k),
               "qps": len(test) / elapsed, "p50_ms": float(np.percentile(lat, 50)),
               "p99_ms": float(np.percentile(lat, 99))}
        results.append(row)
        print(f"{ef:>9} {row['recall']:>10.4f} {row['qps']:>10.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f}")

    report = {"dataset": name, "train": len(train), "queries": len(test), "k": args.k,
              "index_options": with_clause.strip(), "build_seconds": build_seconds,
              "index_bytes": index_bytes, "index_to_vectors": float(size_ratio),
              "plan": plan, "sweep": results}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
