#!/usr/bin/python3
"""The main job of hnsw, end to end, and its benchmark: load real vectors
into PostgreSQL, build an index, answer nearest-neighbour queries through
SQL and report recall@k against an exact search, queries per second,
latency, build time, size and INSERT rate; for this project's hnsw and, in
the same run on the same cluster, pgvector (in a database of its own), and
in process native hnswlib (and Debian's python binding).  Ratios between
them, at the same recall, and the project's targets, met or not.

The headline is the query users write: a driver (psycopg2) with the vector
as a bound parameter, a plain index, one client (see sqlsystems.py for the
other shapes).  "Index time per query" is 1/qps - 1/floor, the floor being
the same statement without the search: what the index costs, apart from
what SQL costs; it is compared with hnswlib's search time at the same
recall.

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (the default), any
ann-benchmarks HDF5 file (--hdf5: euclidean, angular, inner product,
jaccard on sets, hamming on bits), or with --rows N the scale mode's seeded
clustered set (datasets.py), measured at 100,000, 300,000 and 1,000,000
rows (those up to N).  Exact ground truth is computed once and cached.

Connects with the usual libpq environment (PGHOST, PGPORT, ...), as set by
bench/demo.sh, which also builds pgvector and native hnswlib.
"""

import argparse
import json
import os

import common
import datasets
import filtered
import references
from sqlsystems import SqlSystem

RECALLS = (0.95, 0.97, 0.99)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hdf5", help="an ann-benchmarks HDF5 file instead of Fashion-MNIST")
    ap.add_argument("--rows", type=int, help="the scale mode: the seeded clustered set, up to this many rows")
    ap.add_argument("--queries", type=int, default=1000, help="test vectors to query (default 1000)")
    ap.add_argument("--train-limit", type=int, help="index only the first N training vectors")
    ap.add_argument("--small", action="store_true",
                    help="a few minutes for CI: 10,000 vectors, 300 queries, a short sweep")
    ap.add_argument("--m", type=int, default=16, help="index option m (default 16)")
    ap.add_argument("--ef-construction", type=int, default=200, help="ef_construction (default 200)")
    ap.add_argument("--ef-search", default="6,8,10,16,24,40,80,160",
                    help="comma-separated ef_search values (from below the recall the ratios are read at: "
                         "they are interpolated between the points on either side)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=10, help="pgbench run per figure (default 10)")
    ap.add_argument("--filtered", action="store_true",
                    help="also measure filtered queries on hnsw (filtered.py)")
    ap.add_argument("--filter-links", type=int, default=16, help="filter_links for --filtered (default 16)")
    ap.add_argument("--no-pgvector", action="store_true", help="skip pgvector")
    ap.add_argument("--no-hnswlib", action="store_true", help="skip hnswlib (native and python)")
    ap.add_argument("--hnswlib-threads", type=int, default=2, help="threads of hnswlib's build (default 2)")
    ap.add_argument("--hnswlib-native", default=os.environ.get("HNSW_NATIVE_HNSWLIB"),
                    help="the native hnswlib driver demo.sh compiled")
    ap.add_argument("--pinned", action="store_true",
                    help="also pgbench with client and server process on one CPU (an extra line)")
    ap.add_argument("--huge-pages", action="store_true", help="(demo.sh: huge_pages = on)")
    ap.add_argument("--cache", default=os.environ.get("HNSW_CACHE", "/var/tmp/hnsw-cache"))
    ap.add_argument("--json", help="write the results here as JSON")
    ap.add_argument("--png", help="draw the recall/queries-per-second curves here (and a -bars.png)")
    args = ap.parse_args()
    if args.small:
        args.train_limit = args.train_limit or 10000
        args.queries = min(args.queries, 300)
        args.ef_search = "6,8,10,40,100"
        args.seconds = min(args.seconds, 3)
        args.ef_construction = min(args.ef_construction, 64)
    if args.pinned and len(os.sched_getaffinity(0)) > 1:
        common.PIN_CPU = max(os.sched_getaffinity(0))
    return args


def measure_system(name, data, args, efs):
    """Everything of one system through SQL, on the whole train set."""
    s = SqlSystem(name, data, args)
    s.setup(len(data["train"]))
    serial, _ = s.build(0)
    build, phases = s.build(1, watch=(name == "hnsw"))
    out = {"build_seconds_one_process": serial, "build_seconds": build, "progress_phases": phases,
           "index_bytes": s.index_bytes(), "plan": s.plan()}
    print(f"{name}: CREATE INDEX {s.with_clause}: {serial:.1f} s in one process, {build:.1f} s with "
          f"one worker; {out['index_bytes'] / 2**20:.1f} MiB; plan: {' / '.join(out['plan'])}", flush=True)
    out["driver_floor_qps"] = s.driver_floor()
    out["pgbench_floor_qps"] = s.pgbench(s.floor_script())
    print(f"{name}: floors: driver {out['driver_floor_qps']:.0f}/s, pgbench {out['pgbench_floor_qps']:.0f}/s")
    out["sweep"] = s.driver_sweep(efs)
    s.pgbench_sweep(out["sweep"])
    good = [r for r in out["sweep"] if r["recall"] >= 0.97] or out["sweep"]
    out["clients"] = s.clients(max(good, key=lambda r: r["qps"])["ef_search"])
    out["inserts"] = s.inserts() or {"one_client_rows_per_second": None, "two_clients_rows_per_second": None}
    ins = out["inserts"]
    print(f"{name}: two clients {out['clients']['two_to_one']:.2f}x one at ef_search "
          f"{out['clients']['ef_search']}"
          + (f"; INSERT one client {ins['one_client_rows_per_second']:.0f} rows/s, two "
             f"{ins['two_clients_rows_per_second']:.0f}" if ins["one_client_rows_per_second"] else ""),
          flush=True)
    if name == "hnsw":
        # the cost of sampling recall in production: the same driver with
        # 1% of the scans sampled (at most hnsw.sample_recall_max_per_second,
        # 10 by default), and what the samples said
        cur = s.conn.cursor()
        cur.execute("SELECT hnsw_stat_recall_reset()")
        cur.execute("SET hnsw.sample_recall = 0.01")
        print("hnsw: with hnsw.sample_recall = 0.01:")
        out["sweep_sampled"] = s.driver_sweep(efs)
        cur.execute("RESET hnsw.sample_recall")
        cur.execute("SELECT ef_search, scans, skipped, mean_recall FROM hnsw_stat_recall ORDER BY 1")
        out["samples"] = [dict(zip(("ef_search", "scans", "skipped", "mean_recall"), r))
                          for r in cur.fetchall()]
        for plain, sampled in zip(out["sweep"], out["sweep_sampled"]):
            sample = next((x for x in out["samples"] if x["ef_search"] == plain["ef_search"]), None)
            print(f"  ef {plain['ef_search']:>4}: sampled/plain queries/s {sampled['qps'] / plain['qps']:.3f}"
                  + (f"; {sample['scans']} samples (+{sample['skipped']} over the cap), "
                     f"their mean recall {sample['mean_recall']:.4f} (all queries: {plain['recall']:.4f})"
                     if sample and sample["scans"] else ""), flush=True)
        if s.coltype == "real[]":
            out["storage"] = storage_comparison(s, data, efs)
        # the index-only shape: the same driver on an index with INCLUDE (id)
        s.build(1, include=True)
        print("hnsw: index-only scans (INCLUDE (id)):")
        out["sweep_index_only"] = s.driver_sweep(efs)
        if args.filtered:
            out["filtered"] = filtered.filtered_search(
                s.conn.cursor(), s.dbname, args, data["train"], data["test"], data["labels"],
                " " + s.with_clause)
    s.conn.close()
    return out


def walked_pages(cur, index):
    """Pages of the index holding element or upper tuples: what a search
    walks (the others hold only chunks, or are the metapage)."""
    cur.execute(f"""SELECT count(DISTINCT b) FROM generate_series(1,
                       pg_relation_size('{index}') / current_setting('block_size')::int - 1) b,
                   LATERAL hnsw_page_items('{index}', b) WHERE kind IN ('element', 'upper')""")
    return cur.fetchone()[0]


def storage_comparison(s, data, efs):
    """storage = int8, half and bit against float4 on the same rows and
    options, in this run: sizes (whole, and the pages a search walks,
    against the raw float4 vectors), build time, recall and queries/s of
    the same driver; for bit also the re-rank depth that reaches recall
    0.95 and 0.99 (ef_search 10, hnsw.rerank_depth swept).  Each storage
    indexes a copy of the table of its own, built one after another, and
    the four are queried interleaved point by point (the machine's drift
    over a run is larger than the differences measured)."""
    cur = s.conn.cursor()
    raw = len(data["train"]) * data["dimensions"] * 4
    block = 8192
    storages = ("float4", "int8", "half", "bit")
    result = {"raw_bytes": raw}
    plain = s.with_clause
    tables = {storage: f"items_{storage}" for storage in storages}
    try:
        for storage, table in tables.items():
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} AS SELECT * FROM items")
            cur.execute(f"VACUUM ANALYZE {table}")
            s.table, s.index_name = table, f"{table}_v_idx"
            s.with_clause = plain[:-1] + f", storage = '{storage}')"
            seconds, _ = s.build(1)
            st = {"index_bytes": s.index_bytes(), "build_seconds": seconds,
                  "walk_bytes": walked_pages(cur, s.index_name) * block}
            result[storage] = st
            float4 = result["float4"]
            print(f"hnsw: storage = {storage}: CREATE INDEX {seconds:.1f} s with one worker (float4 "
                  f"{float4['build_seconds']:.1f} s); whole index {st['index_bytes'] / raw:.2f}x the raw "
                  f"vectors (float4 {float4['index_bytes'] / raw:.2f}x); pages a search walks "
                  f"{st['walk_bytes'] / raw:.2f}x (float4 {float4['walk_bytes'] / raw:.2f}x)", flush=True)
        print("hnsw: the four storages, interleaved:")
        sweeps = s.driver_sweep_interleaved(list(tables.values()), efs)
        for storage, table in tables.items():
            result[storage]["sweep"] = sweeps[table]
        s.table, s.index_name = tables["bit"], f"{tables['bit']}_v_idx"
        result["bit"]["rerank_depths"] = rerank_depth_sweep(s, cur)
    finally:
        # the next step (index-only scans) builds its own index on items
        s.table, s.index_name, s.with_clause = "items", "items_v_idx", plain
        for table in tables.values():
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    float4 = result["float4"]
    for storage in storages[1:]:
        st = result[storage]
        st["qps_ratio_at_recall"] = {}
        for r in (0.95, 0.97, 0.99):
            a, _ = common.qps_at_recall(st["sweep"], r)
            b, _ = common.qps_at_recall(float4["sweep"], r)
            st["qps_ratio_at_recall"][str(r)] = a / b if a and b else None
            print(f"  at recall {r}: {storage}/float4 queries/s "
                  + (f"{a / b:.2f}" if a and b else "-"), flush=True)
        for f, q in zip(float4["sweep"], st["sweep"]):
            print(f"  ef {f['ef_search']:>4}: recall float4 {f['recall']:.4f}, {storage} {q['recall']:.4f} "
                  f"({q['recall'] - f['recall']:+.4f})")
    return result


def rerank_depth_sweep(s, cur, depths=(10, 20, 40, 80, 160, 320, 640)):
    """Recall and queries/s of the driver at ef_search 10 for each
    hnsw.rerank_depth (the candidates a search keeps and ranks again), and
    the smallest depth that reached recall 0.95 and 0.99."""
    sweep = []
    for depth in depths:
        cur.execute(f"SET hnsw.rerank_depth = {depth}")
        print(f"  hnsw.rerank_depth = {depth}:")
        row = s.driver_sweep([10])[0]
        row["rerank_depth"] = depth
        sweep.append(row)
    cur.execute("RESET hnsw.rerank_depth")
    reached = {}
    for r in (0.95, 0.99):
        depth = next((p["rerank_depth"] for p in sweep if p["recall"] >= r), None)
        reached[str(r)] = depth
        print(f"  bit: recall {r} reached at re-rank depth "
              + (f"{depth}" if depth else f"- (not within {depths[-1]})"), flush=True)
    return {"sweep": sweep, "depth_at_recall": reached}


def index_time_us(qps, floor):
    return (1.0 / qps - 1.0 / floor) * 1e6 if qps and floor else None


def compare(report):
    """Ratios at the same recall, interpolated on the curves: hnsw against
    pgvector and against native hnswlib, queries/s of the driver shape and
    index time per query against hnswlib's search time."""
    hnsw = report["systems"]["hnsw"]
    pgv = report["systems"].get("pgvector")
    native = report.get("hnswlib_native")
    ratios = {}
    for r in RECALLS:
        ours, _ = common.qps_at_recall(hnsw["sweep"], r)
        row = {"hnsw_qps": ours}
        if pgv:
            theirs, _ = common.qps_at_recall(pgv["sweep"], r)
            row["pgvector_qps"] = theirs
            row["hnsw_to_pgvector"] = ours / theirs if ours and theirs else None
            row["pgvector_index_time_us"] = index_time_us(theirs, pgv["driver_floor_qps"])
        row["hnsw_index_time_us"] = index_time_us(ours, hnsw["driver_floor_qps"])
        if native:
            theirs, _ = common.qps_at_recall(native["sweep"], r)
            row["hnswlib_qps"] = theirs
            row["hnsw_to_hnswlib"] = ours / theirs if ours and theirs else None
            row["hnswlib_search_time_us"] = 1e6 / theirs if theirs else None
            if row["hnsw_index_time_us"] and theirs:
                row["index_time_to_hnswlib"] = row["hnsw_index_time_us"] / row["hnswlib_search_time_us"]
        ours_io, _ = common.qps_at_recall(hnsw.get("sweep_index_only", []), r)
        row["hnsw_index_only_qps"] = ours_io
        ours_pb, _ = common.qps_at_recall(hnsw["sweep"], r, key="pgbench_qps")
        row["hnsw_pgbench_qps"] = ours_pb
        row["hnsw_pgbench_index_time_us"] = index_time_us(ours_pb, hnsw["pgbench_floor_qps"])
        if pgv:
            theirs_pb, _ = common.qps_at_recall(pgv["sweep"], r, key="pgbench_qps")
            row["pgvector_pgbench_qps"] = theirs_pb
        ratios[str(r)] = row
    return ratios


def targets(report):
    """The project's targets (README, "Performance"), each with this run's
    figure and whether it is met."""
    hnsw = report["systems"]["hnsw"]
    pgv = report["systems"].get("pgvector")
    native = report.get("hnswlib_native")
    at97 = report["ratios"]["0.97"]
    rows = [("queries/s at recall 0.97, driver shape: hnsw / pgvector", at97.get("hnsw_to_pgvector"), ">=", 2.5),
            ("index time per query at recall 0.97 / native hnswlib's search time",
             at97.get("index_time_to_hnswlib"), "<=", 2.0),
            ("build with one worker / native hnswlib on two threads",
             hnsw["build_seconds"] / native["build_seconds"] if native else None, "<=", 1.2),
            ("build with one worker: hnsw / pgvector",
             hnsw["build_seconds"] / pgv["build_seconds"] if pgv else None, "<=", 0.4),
            ("single-row INSERTs, one client: hnsw / pgvector",
             hnsw["inserts"]["one_client_rows_per_second"] / pgv["inserts"]["one_client_rows_per_second"]
             if pgv and hnsw["inserts"]["one_client_rows_per_second"] else None, ">=", 3.0)]
    if report["dimensions"] == 784:
        rows.append(("index size / raw float4 vectors (784 dimensions)", report["hnsw_to_raw"], "<=", 1.1))
    rows += storage_targets(report)
    print("targets" + ("" if report["train"] >= 60000 else " (set for the full run; this is a subset)") + ":")
    out = []
    for name, value, op, bound in rows:
        if value is None:
            verdict = "not measured"
        else:
            met = value <= bound if op == "<=" else value >= bound
            verdict = "met" if met else "NOT MET"
        shown = "" if value is None else f"{value:+.4f} " if name.startswith("recall@") else f"{value:.2f}x "
        print(f"  {name}: {shown}{op} {bound}: {verdict}")
        out.append({"target": name, "value": value, "op": op, "bound": bound, "verdict": verdict})
    return out


def storage_targets(report):
    """The targets of storage int8, half and bit against float4 in the
    same run, everything cached (the memory-limited ones are
    bench/memlimit.py's): what a search walks, recall at the same
    ef_search, queries/s and build time."""
    st = report["systems"]["hnsw"].get("storage")
    if not st:
        return []
    rows = []
    raw = st["raw_bytes"]
    float4 = st["float4"]
    if report["dimensions"] == 784:
        for storage, bound in (("int8", 0.30), ("half", 0.55), ("bit", 0.08)):
            rows.append((f"pages a search walks / raw vectors, storage {storage} (784 dimensions)",
                         st[storage]["walk_bytes"] / raw, "<=", bound))
    for storage in ("int8", "half"):
        rows.append((f"recall@10 at the same ef_search, {storage} - float4 (the lowest)",
                     min(q["recall"] - f["recall"] for f, q in zip(float4["sweep"], st[storage]["sweep"])),
                     ">=", -0.005))
    rows.append(("queries/s at recall 0.97, storage int8 / float4, all cached",
                 st["int8"]["qps_ratio_at_recall"]["0.97"], ">=", 1.3))
    rows.append(("build with one worker, storage int8 / float4",
                 st["int8"]["build_seconds"] / float4["build_seconds"], "<=", 1.0))
    return rows


def print_summary(report):
    systems = report["systems"]
    raw = report.get("raw_vector_bytes")
    print("\nsummary (same run, same cluster; one client; k = %d):" % report["k"])
    print(f"  {'system':<22} {'build 1 proc':>12} {'build 2':>9} {'size MiB':>9} {'/raw':>6} "
          f"{'INSERT/s':>9} {'2 cl/1':>7} {'floor/s':>8}")
    for name, s in systems.items():
        print(f"  {name:<22} {s['build_seconds_one_process']:>11.1f}s {s['build_seconds']:>8.1f}s "
              f"{s['index_bytes'] / 2**20:>9.1f} "
              f"{(s['index_bytes'] / raw if raw else float('nan')):>6.2f} "
              f"{s['inserts']['one_client_rows_per_second'] or 0:>9.0f} {s['clients']['two_to_one']:>7.2f} "
              f"{s['driver_floor_qps']:>8.0f}")
    for key, label in (("hnswlib_native", "hnswlib native"), ("hnswlib_python", "hnswlib python")):
        h = report.get(key)
        if h:
            one = h.get("build_seconds_one_thread")
            one = f"{one:.1f}s" if one else "-"
            add = h.get("add_one_thread_rows_per_second")
            add = f"{add:.0f}" if add else "-"
            print(f"  {label:<22} {one:>12} {h['build_seconds']:>8.1f}s {'':>9} {'':>6} {add:>9}")
    print("  at the same recall (interpolated), driver shape unless named:")
    for r, row in report["ratios"].items():
        parts = [f"hnsw {row['hnsw_qps']:.0f} q/s" if row["hnsw_qps"] else "hnsw -"]
        if "pgvector_qps" in row:
            parts.append(f"pgvector {row['pgvector_qps']:.0f}" if row["pgvector_qps"] else "pgvector -")
            if row.get("hnsw_to_pgvector"):
                parts.append(f"hnsw/pgvector {row['hnsw_to_pgvector']:.2f}x")
        if row.get("hnswlib_qps"):
            parts.append(f"hnswlib {row['hnswlib_qps']:.0f}, hnsw/hnswlib {row['hnsw_to_hnswlib']:.2f}x")
        if row.get("index_time_to_hnswlib"):
            parts.append(f"index time {row['hnsw_index_time_us']:.0f} us = "
                         f"{row['index_time_to_hnswlib']:.2f}x hnswlib's {row['hnswlib_search_time_us']:.0f} us")
        if row.get("hnsw_index_only_qps"):
            parts.append(f"index-only {row['hnsw_index_only_qps']:.0f}")
        if row.get("hnsw_pgbench_qps"):
            parts.append(f"pgbench {row['hnsw_pgbench_qps']:.0f}"
                         + (f" (pgvector {row['pgvector_pgbench_qps']:.0f})" if row.get("pgvector_pgbench_qps") else ""))
        print(f"    recall {r}: " + "; ".join(parts))


def draw(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    curves = [("hnsw, driver (headline)", report["systems"]["hnsw"]["sweep"], "qps", "o-"),
              ("hnsw, driver, index-only", report["systems"]["hnsw"].get("sweep_index_only"), "qps", "^:"),
              ("hnsw, pgbench", report["systems"]["hnsw"]["sweep"], "pgbench_qps", "v:")]
    if "pgvector" in report["systems"]:
        curves += [("pgvector 0.8.6, driver", report["systems"]["pgvector"]["sweep"], "qps", "D-"),
                   ("pgvector 0.8.6, pgbench", report["systems"]["pgvector"]["sweep"], "pgbench_qps", "d:")]
    if report.get("hnswlib_native"):
        curves.append(("hnswlib native, in process", report["hnswlib_native"]["sweep"], "qps", "s--"))
    if report.get("hnswlib_python"):
        curves.append(("hnswlib python (Debian)", report["hnswlib_python"]["sweep"], "qps", "x--"))
    for label, sweep, key, style in curves:
        if not sweep:
            continue
        pts = sorted((r["recall"], r[key]) for r in sweep if r.get(key))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    ax.set_xlabel(f"recall@{report['k']}")
    ax.set_ylabel("queries per second, one client")
    ax.set_yscale("log")
    ax.set_title(f"{report['dataset']}, {report['train']} vectors, m = {report['m']}, "
                 f"ef_construction = {report['ef_construction']}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)

    names = list(report["systems"])
    native = report.get("hnswlib_native")

    def with_hnswlib(values, key):
        """values of the systems, and hnswlib's key beside them"""
        if native:
            return names + ["hnswlib"], values + [native[key]]
        return names, values
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    axes[0].bar(*with_hnswlib([report["systems"][n]["build_seconds"] for n in names], "build_seconds"))
    axes[0].set_title("build, s (1 worker / 2 threads)", fontsize=9)
    axes[1].bar(names, [report["systems"][n]["index_bytes"] / 2**20 for n in names])
    if report.get("raw_vector_bytes"):
        axes[1].axhline(report["raw_vector_bytes"] / 2**20, color="grey", ls="--", label="raw vectors")
        axes[1].legend(fontsize=8)
    axes[1].set_title("index size, MiB", fontsize=9)
    axes[2].bar(*with_hnswlib([report["systems"][n]["inserts"]["one_client_rows_per_second"] or 0
                               for n in names], "add_one_thread_rows_per_second"))
    axes[2].set_title("single-row inserts/s, one client", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.splitext(path)[0] + "-bars.png", dpi=120)


def standard_run(data, args, efs, names):
    report = {"dataset": data["name"], "metric": data["metric"], "train": len(data["train"]),
              "queries": len(data["test"]), "k": args.k, "m": args.m,
              "ef_construction": args.ef_construction, "dimensions": data["dimensions"],
              "systems": {}}
    if data["metric"] in ("euclidean", "angular", "ip"):
        report["raw_vector_bytes"] = len(data["train"]) * data["dimensions"] * 4
    for name in names:
        report["systems"][name] = measure_system(name, data, args, efs)
    if report.get("raw_vector_bytes"):
        report["hnsw_to_raw"] = report["systems"]["hnsw"]["index_bytes"] / report["raw_vector_bytes"]
    if not args.no_hnswlib and references.supports(data["metric"]):
        if args.hnswlib_native:
            report["hnswlib_native"] = references.run_native(args.hnswlib_native, data, args, efs,
                                                             len(data["train"]))
            for r in report["hnswlib_native"]["sweep"]:
                print(f"  hnswlib native ef {r['ef_search']:>4}: recall {r['recall']:.4f}  {r['qps']:>8.0f} q/s "
                      f"(two threads {r['two_threads_qps']:.0f})")
        report["hnswlib_python"] = references.run_python(data, args, efs, len(data["train"]))
    report["ratios"] = compare(report)
    print_summary(report)
    report["targets"] = targets(report)
    return report


def scale_run(data, args, efs, names):
    """The scale mode: at 100,000, 300,000 and 1,000,000 rows (those up to
    --rows, and --rows itself), the build, its memory, the index size and
    queries/s at recall 0.95 of every system, so the growth of each cost
    shows."""
    steps = sorted({n for n in (100000, 300000, 1000000) if n <= args.rows} | {args.rows})
    systems = {name: SqlSystem(name, data, args) for name in names}
    report = {"dataset": data["name"], "metric": data["metric"], "k": args.k, "m": args.m,
              "ef_construction": args.ef_construction, "dimensions": data["dimensions"],
              "queries": len(data["test"]), "law": {"dimensions": datasets.SYNTH_DIM,
                                                    "clusters": datasets.SYNTH_CLUSTERS,
                                                    "sigma": datasets.SYNTH_SIGMA, "seed": datasets.SYNTH_SEED},
              "steps": []}
    for name, s in systems.items():
        s.setup(0)
    for n in steps:
        view = dict(data, train=data["train"][:n])
        view["kth"] = datasets.ground_truth(args, view, n)
        step = {"rows": n, "raw_vector_bytes": n * data["dimensions"] * 4, "systems": {}}
        for name, s in systems.items():
            s.data = view
            s.add_rows(n)
            seconds, _ = s.build(1)
            sweep = s.driver_sweep(efs)
            qps95, _ = common.qps_at_recall(sweep, 0.95)
            step["systems"][name] = {"build_seconds": seconds, "index_bytes": s.index_bytes(),
                                     "backend_peak_kib": s.backend_peak_kib(), "sweep": sweep,
                                     "qps_at_0.95": qps95}
            peak = step["systems"][name]["backend_peak_kib"]
            print(f"{n} rows, {name}: build {seconds:.1f} s, {s.index_bytes() / 2**20:.1f} MiB, "
                  f"building backend's peak resident memory {(peak or 0) / 1024:.0f} MiB, "
                  f"{qps95 or 0:.0f} q/s at recall 0.95", flush=True)
        if not args.no_hnswlib and args.hnswlib_native:
            native = references.run_native(args.hnswlib_native, view, args, efs, n, single_thread=False)
            qps95, _ = common.qps_at_recall(native["sweep"], 0.95)
            native["qps_at_0.95"] = qps95
            step["hnswlib_native"] = native
            print(f"{n} rows, hnswlib native: build {native['build_seconds']:.1f} s on "
                  f"{native['threads']} threads, {qps95 or 0:.0f} q/s at recall 0.95")
        report["steps"].append(step)
    def qps(x):
        return f"{x['qps_at_0.95']:.0f}" if x["qps_at_0.95"] else "-"
    print("\nscale (build with one worker / 2 threads; queries/s at recall 0.95, driver shape):")
    for step in report["steps"]:
        parts = [f"{name}: build {x['build_seconds']:.0f} s, {x['index_bytes'] / 2**20:.0f} MiB "
                 f"({x['index_bytes'] / step['raw_vector_bytes']:.2f}x raw), {qps(x)} q/s"
                 for name, x in step["systems"].items()]
        if "hnswlib_native" in step:
            h = step["hnswlib_native"]
            parts.append(f"hnswlib: build {h['build_seconds']:.0f} s, {qps(h)} q/s")
        print(f"  {step['rows']:>8} rows: " + "; ".join(parts))
    for s in systems.values():
        s.conn.close()
    return report


def draw_scale(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    rows = [s["rows"] for s in report["steps"]]
    names = list(report["steps"][0]["systems"])
    for name in names:
        axes[0].plot(rows, [s["systems"][name]["build_seconds"] for s in report["steps"]], "o-", label=name)
        axes[1].plot(rows, [s["systems"][name]["index_bytes"] / 2**20 for s in report["steps"]], "o-", label=name)
        axes[2].plot(rows, [s["systems"][name]["qps_at_0.95"] or 0 for s in report["steps"]], "o-", label=name)
    if all("hnswlib_native" in s for s in report["steps"]):
        axes[0].plot(rows, [s["hnswlib_native"]["build_seconds"] for s in report["steps"]], "s--", label="hnswlib")
        axes[2].plot(rows, [s["hnswlib_native"]["qps_at_0.95"] or 0 for s in report["steps"]], "s--", label="hnswlib")
    axes[1].plot(rows, [s["raw_vector_bytes"] / 2**20 for s in report["steps"]], ":", color="grey", label="raw")
    for ax, title in zip(axes, ("build, s", "index, MiB", "queries/s at recall 0.95")):
        ax.set_xscale("log")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("rows")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[2].set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    args = parse_args()
    efs = [int(x) for x in args.ef_search.split(",")]
    data = datasets.load(args)
    print(f"data: {data['name']} ({data['metric']}): {len(data['train'])} vectors"
          + (f" of {data['dimensions']} dimensions" if data["dimensions"] else "")
          + f", {len(data['test'])} queries")
    conn = common.connect()
    cur = conn.cursor()
    cur.execute("SELECT version()")
    server = cur.fetchone()[0].split(",")[0]
    cur.execute("SHOW shared_buffers")
    shared_buffers = cur.fetchone()[0]
    conn.close()
    print(f"server: {server}, shared_buffers {shared_buffers}")
    names = ["hnsw"]
    if not args.no_pgvector:
        if SqlSystem.supports("pgvector", data["metric"]):
            names.append("pgvector")
        else:
            print(f"pgvector has no {data['metric']} distance on this data's type: not measured")
    report = scale_run(data, args, efs, names) if args.rows else standard_run(data, args, efs, names)
    report["server"] = server
    report["shared_buffers"] = shared_buffers
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print("results written to", args.json)
    if args.png:
        (draw_scale if args.rows else draw)(report, args.png)
        print("plot written to", args.png)


if __name__ == "__main__":
    main()
