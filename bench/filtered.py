"""Filtered queries (bench/demo.py --filtered): a WHERE clause that 10%,
1% and 0.1% of the rows match, answered through filter columns (with and
without value links), by the executor above an iterative scan, and by an
exact scan.  On this project's hnsw only."""

import io
import time

import numpy as np

import common

FILTER_EFS = (10, 20, 40)


def filtered_search(cur, dbname, args, train, test, labels, with_clause):
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
                "qps": common.pgbench_qps(script, args.seconds, 1, dbname)}

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
