# Copyright (c) 2026, the hnsw developers
#
# Index-only scans and VACUUM: an index-only scan keeps the page of the
# row it handed out pinned until the executor asks for the next one, and
# VACUUM waits for that pin (a cleanup lock) before it marks the row's
# element deleted; so a row cannot lose its element, and its heap page
# become all-visible, between the scan's check and the executor's.  Here a
# cursor holds a row while VACUUM runs: VACUUM must wait on the buffer pin
# until the cursor lets go, and must then finish.  On a standby, whose
# replay has no such interlock, the planner is not offered index-only scans.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', 'autovacuum = off');
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION hnsw;
	SELECT setseed(0.7);
	CREATE TABLE io (id int, v real[]);
	INSERT INTO io SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 8))
		FROM generate_series(1, 500) i;
	CREATE INDEX io_idx ON io USING hnsw (v) INCLUDE (id);
	VACUUM io;
});

my $query = q{SELECT id FROM io ORDER BY v <-> '{0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5}'};
like($node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $query"),
	qr/Index Only Scan using io_idx/, 'the query is an index-only scan');

# the nearest row dies, so VACUUM has an element to mark deleted
my $dead = $node->safe_psql('postgres', "SET enable_seqscan = off; $query LIMIT 1");
$node->safe_psql('postgres', "DELETE FROM io WHERE id = $dead");
my $counts = q{SELECT elements || ' elements, ' || deleted || ' deleted' FROM hnsw_index_info('io_idx')};
is($node->safe_psql('postgres', $counts), '500 elements, 0 deleted',
	'before VACUUM the index still holds the dead row\'s element');

# a cursor hands out the nearest live row and keeps its page pinned
my $cursor = $node->background_psql('postgres');
$cursor->query_safe('BEGIN');
$cursor->query_safe('SET enable_seqscan = off');
$cursor->query_safe("DECLARE c NO SCROLL CURSOR FOR $query");
my $first = $cursor->query_safe('FETCH 1 FROM c');
like($first, qr/^\d+$/, 'the cursor handed out a row');
isnt($first, $dead, 'not the deleted one');

# VACUUM must wait for the cursor's pin before it marks elements deleted
my $vacuum = $node->background_psql('postgres', wait => 0);
$vacuum->query_until(qr/start/, q{\echo start
VACUUM io;
\echo done
});
ok( $node->poll_query_until(
		'postgres', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE query LIKE 'VACUUM io%' AND wait_event = 'BufferPin'}),
	'VACUUM waits on the buffer pin of the index-only scan');

# the cursor moves on (and pins the next row's page, which VACUUM may
# still have ahead of it, as with a B-tree), then closes: VACUUM goes ahead
my $second = $cursor->query_safe('FETCH 1 FROM c');
like($second, qr/^\d+$/, 'the cursor hands out the next row');
$cursor->query_safe('COMMIT');
$vacuum->query_until(qr/done/, '');
pass('VACUUM finished once the cursor let go');
$cursor->quit;
$vacuum->quit;

# the dead row is gone from the index and is not returned; nothing else
# was lost
is($node->safe_psql('postgres', $counts), '499 elements, 0 deleted',
	'VACUUM removed the dead row\'s element from the index');
is($node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('io_idx')"), '0',
	'hnsw_verify finds nothing after VACUUM');
is( $node->safe_psql(
		'postgres', qq{
		SET enable_seqscan = off;
		SELECT count(*) FROM ($query LIMIT 20) s WHERE id = $dead}),
	'0',
	'the deleted row is not returned');
is( $node->safe_psql(
		'postgres', q{
		SET enable_seqscan = off;
		SELECT count(*) FROM io i
		WHERE i.id = (SELECT id FROM io j ORDER BY j.v <-> i.v LIMIT 1)}),
	'499',
	'every live row is found by its own vector, from the index alone');

# a standby plans plain index scans of the same index
$node->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'backup', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
my $plan = $standby->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $query LIMIT 5");
like($plan, qr/Index Scan using io_idx/, 'a standby plans an index scan');
unlike($plan, qr/Index Only Scan/, 'a standby plans no index-only scan');
is( $standby->safe_psql(
		'postgres', "SET enable_seqscan = off; $query LIMIT 5"),
	$node->safe_psql('postgres', "SET enable_seqscan = off; $query LIMIT 5"),
	'the standby returns the same rows');

done_testing();
