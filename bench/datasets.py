"""The benchmark's data: Fashion-MNIST from Debian's dataset-fashion-mnist,
any ann-benchmarks HDF5 file, or a seeded synthetic set for the scale mode;
exact ground truth, computed once and cached; and tie-aware recall.

A data set is a dict: name, metric (euclidean, angular, ip, jaccard or
hamming), train and test (float32 arrays, or for jaccard lists of int32
arrays, for hamming arrays of 0/1 uint8), the exact distance of each
test vector's k-th neighbour (kth), and class labels where the data has
them (Fashion-MNIST).
"""

import gzip
import os
import struct
import sys
import time

import numpy as np

FASHION_DIR = "/usr/share/datasets/fashion-mnist"

# The synthetic set of the scale mode: SYNTH_CLUSTERS cluster centres drawn
# uniformly from [-1, 1]^SYNTH_DIM, each vector a centre (chosen uniformly)
# plus Gaussian noise of SYNTH_SIGMA per dimension; queries drawn the same
# way; numpy's default_rng(SYNTH_SEED)
SYNTH_DIM = 96
SYNTH_CLUSTERS = 1000
SYNTH_SIGMA = 0.15
SYNTH_SEED = 20261206

# ann-benchmarks' names of a metric, and ours
METRICS = {"euclidean": "euclidean", "l2": "euclidean", "angular": "angular",
           "cosine": "angular", "ip": "ip", "dot": "ip", "inner_product": "ip",
           "jaccard": "jaccard", "hamming": "hamming"}


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


def distances(metric, train, ids, q):
    """Distances from query q to the train rows ids, as the index's
    operator measures them."""
    if metric == "euclidean":
        return np.sqrt(((train[ids].astype(np.float64) - q) ** 2).sum(axis=1))
    if metric == "angular":
        x = train[ids].astype(np.float64)
        den = np.linalg.norm(x, axis=1) * np.linalg.norm(q)
        return 1.0 - (x @ q.astype(np.float64)) / np.where(den == 0, 1, den)
    if metric == "ip":
        return -(train[ids].astype(np.float64) @ q.astype(np.float64))
    if metric == "hamming":
        return (train[ids] != q).sum(axis=1).astype(np.float64)
    if metric == "jaccard":
        qs = set(q.tolist())
        out = []
        for i in ids:
            s = set(train[i].tolist())
            union = len(s | qs)
            out.append(1.0 - len(s & qs) / union if union else 0.0)
        return np.array(out)
    raise ValueError(metric)


def exact_kth(metric, train, test, k):
    """The distance of each test vector's k-th exact neighbour."""
    kth = np.empty(len(test))
    if metric in ("euclidean", "angular", "ip"):
        x = train.astype(np.float64)
        if metric == "angular":
            norms = np.linalg.norm(x, axis=1)
            x = x / np.where(norms == 0, 1, norms)[:, None]
        sq = (x ** 2).sum(axis=1)
        for start in range(0, len(test), 200):
            q = test[start:start + 200].astype(np.float64)
            if metric == "euclidean":
                d = np.sqrt(np.maximum(sq[None, :] - 2.0 * q @ x.T + (q ** 2).sum(axis=1)[:, None], 0))
            elif metric == "angular":
                qn = np.linalg.norm(q, axis=1)
                d = 1.0 - (q @ x.T) / np.where(qn == 0, 1, qn)[:, None]
            else:
                d = -(q @ x.T)
            kth[start:start + 200] = np.partition(d, k - 1, axis=1)[:, k - 1]
        return kth
    for i, q in enumerate(test):
        d = distances(metric, train, range(len(train)), q)
        kth[i] = np.partition(d, k - 1)[k - 1]
    return kth


def recall(data, answers, k):
    """Tie-aware recall@k: an answer counts if it is no farther than the
    k-th exact neighbour."""
    found = 0
    for qi, ids in enumerate(answers):
        ids = [i for i in ids if 0 <= i < len(data["train"])]
        if ids:
            d = distances(data["metric"], data["train"], ids, data["test"][qi])
            limit = data["kth"][qi]
            found += int((d <= limit + 1e-6 * max(1.0, abs(limit))).sum())
    return found / (len(answers) * k)


def synthetic(rows, queries):
    """The scale mode's clustered set (see SYNTH_* above)."""
    rng = np.random.default_rng(SYNTH_SEED)
    centres = rng.uniform(-1, 1, (SYNTH_CLUSTERS, SYNTH_DIM)).astype(np.float32)

    def draw(n):
        out = np.empty((n, SYNTH_DIM), dtype=np.float32)
        for start in range(0, n, 100000):
            m = min(100000, n - start)
            out[start:start + m] = centres[rng.integers(0, SYNTH_CLUSTERS, m)] + \
                rng.normal(0, SYNTH_SIGMA, (m, SYNTH_DIM)).astype(np.float32)
        return out
    train = draw(rows)
    test = draw(queries)
    return train, test


def read_hdf5(path):
    import h5py
    with h5py.File(path, "r") as f:
        metric = f.attrs.get("distance", "euclidean")
        if isinstance(metric, bytes):
            metric = metric.decode()
        if metric not in METRICS:
            sys.exit(f"{path}: distance '{metric}' is not one the benchmark knows "
                     f"({', '.join(sorted(METRICS))})")
        metric = METRICS[metric]
        if metric == "jaccard" and "size_train" in f:
            # sparse sets: the items of all rows, one after another, and
            # each row's count
            def sets(items, sizes):
                ends = np.cumsum(sizes)
                return [np.asarray(items[e - s:e], dtype=np.int32) for s, e in zip(sizes, ends)]
            train = sets(np.asarray(f["train"]), np.asarray(f["size_train"]))
            test = sets(np.asarray(f["test"]), np.asarray(f["size_test"]))
        elif metric == "jaccard":
            # sets as 0/1 rows: the positions of the ones
            train = [np.flatnonzero(r).astype(np.int32) for r in np.asarray(f["train"])]
            test = [np.flatnonzero(r).astype(np.int32) for r in np.asarray(f["test"])]
        elif metric == "hamming":
            train = (np.asarray(f["train"]) != 0).astype(np.uint8)
            test = (np.asarray(f["test"]) != 0).astype(np.uint8)
        else:
            train = np.asarray(f["train"], dtype=np.float32)
            test = np.asarray(f["test"], dtype=np.float32)
    return metric, train, test


def load(args):
    """The data set the arguments name, cut to --train-limit and
    --queries, with its ground truth (cached in args.cache)."""
    labels = None
    if args.rows:
        metric = "euclidean"
        train, test = synthetic(args.rows, args.queries)
        name = f"synthetic-clustered-{SYNTH_DIM}-euclidean"
    elif args.hdf5:
        metric, train, test = read_hdf5(args.hdf5)
        name = os.path.splitext(os.path.basename(args.hdf5))[0]
    else:
        metric = "euclidean"
        train = read_idx_images(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
        test = read_idx_images(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
        name = "fashion-mnist-784-euclidean"
        labels = (read_idx_labels(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz")),
                  read_idx_labels(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz")))
    if args.train_limit:
        train = train[:args.train_limit]
        if labels is not None:
            labels = (labels[0][:args.train_limit], labels[1])
    # vectors for single-row INSERTs: test vectors past the queries, so that
    # every insert brings a vector of its own
    extra = test[args.queries:args.queries + 5000]
    test = test[:args.queries]
    data = {"name": name, "metric": metric, "train": train, "test": test, "extra": extra,
            "labels": labels,
            "dimensions": (train.shape[1] if metric != "jaccard" else None)}
    data["kth"] = ground_truth(args, data, len(train))
    return data


def ground_truth(args, data, ntrain):
    """kth for the first ntrain rows of data's train, computed once and
    cached."""
    os.makedirs(args.cache, exist_ok=True)
    path = os.path.join(args.cache, f"{data['name']}-{ntrain}-{len(data['test'])}-k{args.k}.kth.npy")
    if os.path.exists(path):
        return np.load(path)
    t0 = time.time()
    kth = exact_kth(data["metric"], data["train"][:ntrain], data["test"], args.k)
    np.save(path, kth)
    print(f"exact ground truth for {ntrain} rows computed in {time.time() - t0:.1f} s, cached in {path}")
    return kth
