-- VACUUM links back elements that pruning left without in-links.
--
-- With m = 2 a layer-0 list holds 4 links, so the heuristic pruning done
-- by inserts leaves many elements that no list leads to; hnsw_verify
-- reports those of visible rows.  VACUUM, with nothing to delete, walks the
-- graph and links each of them back.
SET client_min_messages = warning;
SELECT setseed(0.25);
CREATE TABLE orphans (id int, v real[]);
CREATE INDEX orphans_v_idx ON orphans USING hnsw (v) WITH (m = 2, ef_construction = 4);
INSERT INTO orphans SELECT i, ARRAY[random(), random()]::real[] FROM generate_series(1, 5000) i;
SELECT count(*) > 10 AS some_unreachable
FROM hnsw_verify('orphans_v_idx') WHERE problem LIKE '%cannot be reached%';
VACUUM orphans;
SELECT * FROM hnsw_verify('orphans_v_idx');

-- the same after deletes: repair, removal and linking back in one VACUUM
DELETE FROM orphans WHERE id % 3 = 0;
INSERT INTO orphans SELECT i, ARRAY[random(), random()]::real[] FROM generate_series(5001, 7000) i;
VACUUM orphans;
SELECT * FROM hnsw_verify('orphans_v_idx');

DROP TABLE orphans;

-- Inserts alone: a cut that leaves an element without in-links links it
-- back (forcing the link on the last try, and checking what that link
-- displaces in turn), and so does a new element no list took.  Grown from
-- 300 to 3,000 rows by inserts (m = 6, 32 dimensions), every element is
-- reached without VACUUM (17 were not before).
SELECT setseed(0.25);
CREATE TABLE grown (id int, v real[]);
INSERT INTO grown SELECT i, ARRAY(SELECT random()::real + 0 * i FROM generate_series(1, 32))
FROM generate_series(1, 300) i;
CREATE INDEX grown_v_idx ON grown USING hnsw (v) WITH (m = 6, ef_construction = 16);
INSERT INTO grown SELECT i, ARRAY(SELECT random()::real + 0 * i FROM generate_series(1, 32))
FROM generate_series(301, 3000) i;
SELECT count(*) AS problems FROM hnsw_verify('grown_v_idx');
DROP TABLE grown;
