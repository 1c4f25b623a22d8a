"""The in-process references: native hnswlib (Debian's libhnswlib-dev
headers, compiled -O3 -march=native by bench/demo.sh into the cache, as
its users build it; bench/hnswlib_native.cpp drives it), and Debian's
generic python3-hnswlib binding as a second line."""

import json
import os
import subprocess
import tempfile
import time

import numpy as np

import datasets

SPACES = {"euclidean": "l2", "angular": "cosine", "ip": "ip"}


def supports(metric):
    return metric in SPACES


def run_native(binary, data, args, efs, ntrain, single_thread=True):
    """Native hnswlib on the first ntrain rows: builds on one thread (with
    single_thread) and on args.hnswlib_threads, a sweep on one thread (and
    two), adds on one thread.  Recall is scored here from the answers it
    writes."""
    with tempfile.TemporaryDirectory(prefix="hnsw-native-") as tmp:
        train = np.ascontiguousarray(data["train"][:ntrain], dtype=np.float32)
        test = np.ascontiguousarray(data["test"], dtype=np.float32)
        train.tofile(os.path.join(tmp, "train.f32"))
        test.tofile(os.path.join(tmp, "test.f32"))
        cmd = [binary, "--space", SPACES[data["metric"]], "--dim", str(train.shape[1]),
               "--train", os.path.join(tmp, "train.f32"), "--ntrain", str(len(train)),
               "--test", os.path.join(tmp, "test.f32"), "--ntest", str(len(test)),
               "--m", str(args.m), "--ef-construction", str(args.ef_construction),
               "--threads", str(args.hnswlib_threads), "--k", str(args.k),
               "--efs", ",".join(str(e) for e in efs), "--add", str(min(len(test), 5000)),
               "--out", os.path.join(tmp, "answers"),
               "--single-thread-build", "1" if single_thread else "0"]
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        view = dict(data, train=data["train"][:ntrain])
        for row in out["sweep"]:
            answers = np.fromfile(row.pop("answers"), dtype=np.int32).reshape(len(test), args.k)
            row["recall"] = datasets.recall(view, answers, args.k)
        return out


def run_python(data, args, efs, ntrain):
    """Debian's python3-hnswlib (a generic build): build on
    args.hnswlib_threads threads, sweep on one."""
    import hnswlib
    train = data["train"][:ntrain]
    index = hnswlib.Index(space=SPACES[data["metric"]], dim=train.shape[1])
    index.init_index(max_elements=len(train), M=args.m, ef_construction=args.ef_construction,
                     random_seed=100)
    index.set_num_threads(args.hnswlib_threads)
    t0 = time.perf_counter()
    index.add_items(train, np.arange(len(train)))
    build = time.perf_counter() - t0
    index.set_num_threads(1)
    sweep = []
    view = dict(data, train=train)
    for ef in efs:
        index.set_ef(max(ef, args.k))
        index.knn_query(data["test"][:50], k=args.k)
        t0 = time.perf_counter()
        labels, _ = index.knn_query(data["test"], k=args.k)
        elapsed = time.perf_counter() - t0
        sweep.append({"ef_search": ef, "recall": datasets.recall(view, labels, args.k),
                      "qps": len(data["test"]) / elapsed})
    return {"build_seconds": build, "threads": args.hnswlib_threads, "sweep": sweep}
