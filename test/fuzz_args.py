#!/usr/bin/python3
"""Hostile arguments for everything hnsw offers SQL, against a running
server (the libpq environment names it; test/fuzz.sh runs it on an
assertion-enabled build):

  * every function of the extension, each argument drawn from values
    hostile to its type (NULLs, NULL elements, NaN and infinities, empty,
    multi-dimensional and offset arrays, lengths that differ, sizes at and
    past the limits, bit strings of unequal length, text past the
    Levenshtein limit, relations that are not hnsw indexes, out-of-range
    numbers), in combinations drawn with a fixed seed;
  * every operator class: a table of its type, an index built before and
    after hostile rows are inserted, scans ordered by hostile values (plain
    and with a filter column), VACUUM, and hnsw_verify on every index.

Errors are the point: each is counted by SQLSTATE.  What fails the run: a
backend that dies (the connection is lost), an internal error (XX000: an
elog that hostile input should never reach), or a problem hnsw_verify
reports.  Prints statements run and errors by kind.
"""

import argparse
import collections
import itertools
import random
import sys

import psycopg2

# Values hostile to each argument type, as SQL expressions
FLOATS = ["NULL", "'{}'", "'{NULL}'", "'{1,NULL,3}'", "'{NaN,1,2}'", "'{Infinity,1,2}'",
          "'{-Infinity,0,0}'", "'{{1,2},{3,4}}'", "'[2:4]={1,2,3}'", "'{1,2,3}'", "'{1,2,3,4}'",
          "'{0,0,0}'", "'{-1,0.5,0.5}'", "'{3e38,3e38,-3e38}'", "'{1e-45,1e-45,1e-45}'",
          "array_fill(1, ARRAY[16001])", "array_fill(0.5, ARRAY[100000])", "'{0.25,0.25,0.5}'"]
INTS = ["NULL", "'{}'", "'{NULL}'", "'{1,NULL}'", "'{{1,2},{3,4}}'", "'[0:1]={1,2}'",
        "'{1,2,3}'", "'{3,2,1,1}'", "'{-2147483648,2147483647}'", "'{0}'",
        "(SELECT array_agg(i) FROM generate_series(1, 70000) i)"]
BITS = ["NULL", "B''", "B'1'", "B'101'", "B'1010'", "B'00000000'",
        "(SELECT string_agg('1', '') FROM generate_series(1, 100000))::varbit", "B'11111111'"]
TEXTS = ["NULL", "''", "'a'", "'kitten'", "'sitting'", "repeat('x', 256)", "repeat('x', 1000000)",
         "repeat('é', 300)", "E'\\\\x00'", "'日本語'"]
NUMBERS = ["NULL", "-1", "0", "1", "2147483647", "-2147483648"]
BIGNUMS = NUMBERS + ["9223372036854775807", "-9223372036854775808"]
REALS = ["NULL", "'NaN'", "'Infinity'", "-1", "0", "1e308"]
RELATIONS = ["NULL", "0", "'pg_class'", "'pg_class_oid_index'", "'fuzz_btree'", "'fuzz_table'",
             "'fuzz_real_idx'", "'fuzz_bit_idx'", "'fuzz_filter_idx'", "4294967295"]

BY_TYPE = {
    "real[]": [f"{v}::real[]" for v in FLOATS],
    "double precision[]": [f"{v}::float8[]" for v in FLOATS],
    "smallint[]": [f"{v}::int2[]" for v in INTS[:-2] + ["'{32767,-32768}'"]],
    "integer[]": [f"{v}::int4[]" for v in INTS],
    "bigint[]": [f"{v}::int8[]" for v in INTS + ["'{9223372036854775807,-9223372036854775808}'"]],
    "bit": ["NULL::bit(8)", "B'10101010'::bit(8)", "B'1'::bit(1)", "B'101'::bit(3)", "B''::varbit::bit(8)",
            "(SELECT string_agg('1', '') FROM generate_series(1, 100000))::varbit::bit(100000)"],
    "bit varying": [f"{v}::varbit" for v in BITS],
    "text": [f"{v}::text" for v in TEXTS],
    "integer": [f"{v}::int" for v in NUMBERS],
    "bigint": [f"{v}::bigint" for v in BIGNUMS],
    "real": [f"{v}::real" for v in REALS],
    "double precision": [f"{v}::float8" for v in REALS],
    "regclass": [f"{v}::regclass" for v in RELATIONS],
}


class Runner:
    def __init__(self):
        self.conn = None
        self.statements = 0
        self.errors = collections.Counter()
        self.failures = []
        self.reconnect()

    def reconnect(self):
        self.conn = psycopg2.connect("")
        self.conn.autocommit = True
        cur = self.conn.cursor()
        # a value of 100,000 elements or a million characters takes a while
        cur.execute("SET statement_timeout = '10s'")

    def run(self, sql, fetch=False):
        """Run sql; count its error, if any; reconnect after a lost
        connection and record it as a failure."""
        self.statements += 1
        try:
            cur = self.conn.cursor()
            cur.execute(sql)
            return cur.fetchall() if fetch else True
        except psycopg2.OperationalError as e:
            if self.conn.closed:
                self.failures.append(f"the connection was lost (a backend died?) at: {sql[:300]}\n  {e}")
                self.errors["connection lost"] += 1
                self.reconnect()
                return None
            self.errors[e.pgcode or "?"] += 1
        except psycopg2.Error as e:
            if self.conn.closed:
                self.failures.append(f"the connection was lost at: {sql[:300]}\n  {e}")
                self.errors["connection lost"] += 1
                self.reconnect()
                return None
            self.errors[e.pgcode or "?"] += 1
            if e.pgcode == "XX000":
                self.failures.append(f"internal error at: {sql[:300]}\n  {e.pgerror.strip()}")
        return None


def extension_functions(r):
    """(name, [argument type names]) of the extension's functions that SQL
    can call (not the access method's handler or support functions taking
    internal)."""
    rows = r.run("""
        SELECT p.proname, array_to_string(ARRAY(SELECT format_type(t, NULL)
                                                FROM unnest(p.proargtypes) t), '|')
        FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
        WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
          AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hnsw')
          AND p.prokind = 'f' AND NOT 'internal'::regtype = ANY (p.proargtypes::oid[])
          AND p.prorettype <> 'index_am_handler'::regtype
        ORDER BY 1, 2""", fetch=True)
    return [(name, args.split("|") if args else []) for name, args in rows]


def fuzz_functions(r, rng, per_function):
    for name, args in extension_functions(r):
        pools = [BY_TYPE.get(a, ["NULL"]) for a in args]
        combos = list(itertools.product(*pools)) if pools else [()]
        rng.shuffle(combos)
        for combo in combos[:per_function]:
            r.run(f"SELECT {name}({', '.join(combo)})", fetch=True)


def opclasses(r):
    """(opclass, type, ORDER BY operator) of every hnsw operator class."""
    return r.run("""
        SELECT c.opcname, format_type(c.opcintype, NULL), o.oprname
        FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod AND a.amname = 'hnsw'
             JOIN pg_amop ao ON ao.amopfamily = c.opcfamily AND ao.amoppurpose = 'o'
                            AND ao.amoplefttype = c.opcintype
             JOIN pg_operator o ON o.oid = ao.amopopr
        ORDER BY 1""", fetch=True)


def fuzz_indexes(r, rng):
    for opclass, typ, op in opclasses(r):
        values = BY_TYPE.get(typ)
        if values is None:
            print(f"no hostile values for {typ} ({opclass})", file=sys.stderr)
            continue
        # a column of a fixed-length bit type takes bit(8) values
        coltype = "bit(8)" if typ == "bit" else typ
        sane = {"real[]": "'{1,2,3}'", "double precision[]": "'{1,2,3}'", "smallint[]": "'{1,2,3}'",
                "integer[]": "'{1,2,3}'", "bigint[]": "'{1,2,3}'", "bit": "B'10101010'",
                "bit varying": "B'101'", "text": "'kitten'"}.get(typ, "NULL")
        r.run("DROP TABLE IF EXISTS fz")
        r.run(f"CREATE TABLE fz (id serial, grp int, v {coltype})")
        r.run(f"INSERT INTO fz (grp, v) SELECT i % 3, {sane}::{coltype} FROM generate_series(1, 30) i")
        indexes = []
        for name, definition in (("fz_before", f"(v {opclass})"),
                                 ("fz_filter", f"(v {opclass}, grp) WITH (filter_links = 2)"),
                                 ("fz_include", f"(v {opclass}) INCLUDE (id) WITH (m = 2)"),
                                 # refused but for real[] with L2, cosine, L1, inner product
                                 ("fz_int8", f"(v {opclass}, grp) WITH (storage = int8, m = 2)"),
                                 ("fz_bit", f"(v {opclass}, grp) WITH (storage = 'bit', m = 2)")):
            if r.run(f"CREATE INDEX {name} ON fz USING hnsw {definition}"):
                indexes.append(name)
        # hostile rows into the indexes, each on its own
        for v in values:
            r.run(f"INSERT INTO fz (grp, v) VALUES ({rng.choice(NUMBERS)}, {v})")
        if r.run(f"CREATE INDEX fz_after ON fz USING hnsw (v {opclass})"):
            indexes.append("fz_after")
        if r.run(f"CREATE INDEX fz_int8_after ON fz USING hnsw (v {opclass}) WITH (storage = int8)"):
            indexes.append("fz_int8_after")
        if r.run(f"CREATE INDEX fz_bit_after ON fz USING hnsw (v {opclass}) WITH (storage = 'bit')"):
            indexes.append("fz_bit_after")
        r.run("SET enable_seqscan = off")
        for v in values:
            r.run(f"SELECT id FROM fz ORDER BY v {op} {v} LIMIT 5", fetch=True)
            r.run(f"SELECT id FROM fz WHERE grp = {rng.choice(NUMBERS)} ORDER BY v {op} {v} LIMIT 5",
                  fetch=True)
            r.run(f"SELECT id FROM fz WHERE grp IN (0, 1) ORDER BY v {op} {v} LIMIT 50", fetch=True)
        r.run("RESET enable_seqscan")
        r.run("DELETE FROM fz WHERE id % 2 = 0")
        r.run("VACUUM fz")
        for name in indexes:
            problems = r.run(f"SELECT blkno, offnum, problem FROM hnsw_verify('{name}')", fetch=True)
            if problems:
                r.failures.append(f"hnsw_verify('{name}') of {opclass}: {problems[:5]}")
        # hostile index options
        for opt in ("m = 1", "m = 101", "ef_construction = 0", "max_layers = 17", "level_scale = 0",
                    "level_scale = 'NaN'", "filter_links = 65", "m = -1", "nonsense = 1",
                    "storage = half", "storage = bit", "storage = ''", "storage = 8"):
            r.run(f"CREATE INDEX ON fz USING hnsw (v {opclass}) WITH ({opt})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-function", type=int, default=150,
                    help="argument combinations tried per function (default 150)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    r = Runner()
    fuzz_functions(r, rng, args.per_function)
    fuzz_indexes(r, rng)
    print(f"fuzz_args.py (seed {args.seed}): {r.statements} statements, errors by SQLSTATE: "
          + ", ".join(f"{k} {v}" for k, v in sorted(r.errors.items())))
    for f in r.failures:
        print("FAILURE: " + f)
    sys.exit(1 if r.failures else 0)


if __name__ == "__main__":
    main()
