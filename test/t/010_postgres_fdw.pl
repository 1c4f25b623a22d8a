# Copyright (c) 2026, the hnsw developers
#
# hnsw under core PostgreSQL's sharding: a parent server holds a table
# partitioned by hash whose partitions are postgres_fdw foreign tables on
# two shard servers, each shard with its own hnsw index.  Checked: rows
# inserted and deleted through the parent reach the shards; with the
# foreign servers declared "extensions 'hnsw'" each shard receives the
# ORDER BY distance (constant or bound parameter) and answers it with an
# ordered index scan, so the parent merges sorted streams and stops after
# the LIMIT; the merged top 10 reaches recall@10 >= 0.95 against the exact
# answer over all rows; hnsw.ef_search set in the foreign server's
# "options" reaches the shards (and raising it raises recall); VACUUM on
# the shards leaves hnsw_verify clean, every deleted row gone and every
# inserted row found by its own vector.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test';
use HnswTest;

my $dim = 24;
my $rows = 4000;

my $parent = PostgreSQL::Test::Cluster->new('parent');
$parent->init;
$parent->start;
my @shards;
foreach my $i (1, 2)
{
	my $shard = PostgreSQL::Test::Cluster->new("shard$i");
	$shard->init;
	# the plans of what the shard receives
	$shard->append_conf('postgresql.conf', qq{
		session_preload_libraries = 'auto_explain'
		auto_explain.log_min_duration = 0
	});
	$shard->start;
	# a weak graph (m = 8) on which ef_search makes a visible difference
	$shard->safe_psql('postgres', qq{
		CREATE EXTENSION hnsw;
		CREATE TABLE items_p$i (id int PRIMARY KEY, v real[] NOT NULL);
		CREATE INDEX items_p${i}_v_idx ON items_p$i USING hnsw (v)
			WITH (m = 8, ef_construction = 24);
	});
	push @shards, $shard;
}

# The foreign servers: "extensions" lets the parent ship hnsw's operators,
# "options" gives every shard session its ef_search
$parent->safe_psql('postgres', 'CREATE EXTENSION hnsw; CREATE EXTENSION postgres_fdw');
foreach my $i (1, 2)
{
	my $shard = $shards[ $i - 1 ];
	my ($host, $port) = ($shard->host, $shard->port);
	$parent->safe_psql('postgres', qq{
		CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '$host', port '$port', dbname 'postgres',
					 extensions 'hnsw', fetch_size '20', batch_size '200',
					 options '-c hnsw.ef_search=2');
		CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i OPTIONS (user 'postgres');
	});
}
$parent->safe_psql('postgres', qq{
	CREATE TABLE items (id int NOT NULL, v real[] NOT NULL) PARTITION BY HASH (id);
	CREATE FOREIGN TABLE items_p1 PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER 0)
		SERVER shard1;
	CREATE FOREIGN TABLE items_p2 PARTITION OF items FOR VALUES WITH (MODULUS 2, REMAINDER 1)
		SERVER shard2;
	-- the same rows in a local table, for the exact answers
	SELECT setseed(0.25);
	CREATE TABLE items_local AS
		SELECT i AS id, ARRAY(SELECT random()::real FROM generate_series(1, $dim + 0 * i)) AS v
		FROM generate_series(1, $rows) i;
	INSERT INTO items SELECT * FROM items_local;
});
# the shards' indexes are their own: an index on the parent skips its
# foreign partitions
$parent->safe_psql('postgres', 'CREATE INDEX items_parent_idx ON items USING hnsw (v)');
is($parent->safe_psql('postgres', q{
	SELECT count(*) FROM pg_index WHERE indrelid IN ('items_p1'::regclass, 'items_p2'::regclass)}),
	'0', 'CREATE INDEX on the parent skips the foreign partitions');
$parent->safe_psql('postgres', 'DROP INDEX items_parent_idx');

my @on_shard = map { $shards[ $_ - 1 ]->safe_psql('postgres', "SELECT count(*) FROM items_p$_") } 1, 2;
ok($on_shard[0] > 0 && $on_shard[1] > 0 && $on_shard[0] + $on_shard[1] == $rows,
	"inserts through the parent reach both shards (@on_shard rows)");

my @queries = query_vectors(20, $dim, 7);

# Each shard receives the ORDER BY and the parent merges sorted streams
my $plan = $parent->safe_psql('postgres',
	"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v <-> $queries[0] LIMIT 10");
like($plan, qr/Limit.*Merge Append/s, 'the parent merges the shards\' sorted answers');
like($plan, qr/Remote SQL: SELECT id, v FROM public\.items_p1 ORDER BY \(v OPERATOR\(public\.<->\)/,
	'shard 1 receives the ORDER BY distance');
like($plan, qr/Remote SQL: SELECT id, v FROM public\.items_p2 ORDER BY \(v OPERATOR\(public\.<->\)/,
	'shard 2 receives the ORDER BY distance');
note($plan);
# a bound parameter is sent as one too
$plan = $parent->safe_psql('postgres', qq{
	SET plan_cache_mode = force_generic_plan;
	PREPARE q(real[]) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT 10;
	EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q($queries[0]);
});
like($plan, qr/Remote SQL: SELECT id, v FROM public\.items_p1 ORDER BY \(v OPERATOR\(public\.<->\) \$1::real\[\]\)/,
	'a bound parameter is shipped as a parameter');

# Recall of the merged top 10 at the ef_search of the servers' options,
# with a constant and with a bound parameter
my @exact = top_ids($parent, 'postgres', 'items_local', 10, \@queries);
my @low = top_ids($parent, 'postgres', 'items', 10, \@queries);
my $recall_low = recall_at(\@low, \@exact);
foreach my $i (1, 2)
{
	$parent->safe_psql('postgres',
		"ALTER SERVER shard$i OPTIONS (SET options '-c hnsw.ef_search=200')");
}
my @high = top_ids($parent, 'postgres', 'items', 10, \@queries);
my $recall_high = recall_at(\@high, \@exact);
note("recall\@10 through postgres_fdw: $recall_low at ef_search 2, $recall_high at 200");
cmp_ok($recall_high, '>=', 0.95, 'the merged top 10 reaches recall@10 0.95');
cmp_ok($recall_high, '>', $recall_low, 'the ef_search of the server options reaches the shards');

# What the shards ran for the statements they received (auto_explain)
foreach my $i (1, 2)
{
	like(slurp_file($shards[ $i - 1 ]->logfile),
		qr/Index Scan using items_p${i}_v_idx on (public\.)?items_p$i\b.*\n.*Order By: \(v (OPERATOR\(public\.)?<->/,
		"shard $i answers the ORDER BY with an hnsw index scan");
}

# EXECUTE cannot be a subquery: run each and collect its rows
my @by_param;
foreach my $i (0 .. $#queries)
{
	my $out = $parent->safe_psql('postgres', qq{
		SET plan_cache_mode = force_generic_plan;
		PREPARE q(real[]) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT 10;
		EXECUTE q($queries[$i]);
	});
	push @by_param, [ split /\n/, $out ];
}
cmp_ok(recall_at(\@by_param, \@exact), '>=', 0.95,
	'with a bound parameter the merged top 10 reaches recall@10 0.95');

# Deletes and inserts through the parent, VACUUM on the shards
$parent->safe_psql('postgres', qq{
	DELETE FROM items WHERE id % 10 = 0;
	DELETE FROM items_local WHERE id % 10 = 0;
	SELECT setseed(0.5);
	INSERT INTO items_local
		SELECT i, ARRAY(SELECT random()::real FROM generate_series(1, $dim + 0 * i))
		FROM generate_series($rows + 1, $rows + 400) i;
	INSERT INTO items SELECT * FROM items_local WHERE id > $rows;
});
foreach my $i (1, 2)
{
	my $shard = $shards[ $i - 1 ];
	$shard->safe_psql('postgres', "VACUUM items_p$i");
	is($shard->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('items_p${i}_v_idx')"),
		'0', "shard $i: hnsw_verify is clean after deletes, inserts and VACUUM");
	# the index holds an element for each live row and nothing else
	is($shard->safe_psql('postgres', "SELECT elements, deleted FROM hnsw_index_info('items_p${i}_v_idx')"),
		$shard->safe_psql('postgres', "SELECT count(*) FROM items_p$i") . '|0',
		"shard $i: VACUUM removed the deleted rows' elements, the inserted rows have theirs");
}

# every live row, queried by its own vector through the parent, comes first
my $own = $parent->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE (SELECT i.id FROM items i ORDER BY i.v <-> l.v LIMIT 1) = l.id),
		   count(*)
	FROM items_local l WHERE l.id % 7 = 0;
});
my ($found, $asked) = split /\|/, $own;
is($found, $asked, "each of $asked rows (inserted ones among them) is found by its own vector");
my @after = top_ids($parent, 'postgres', 'items', 10, \@queries);
my @exact_after = top_ids($parent, 'postgres', 'items_local', 10, \@queries);
cmp_ok(recall_at(\@after, \@exact_after), '>=', 0.95,
	'recall@10 0.95 after deletes, inserts and VACUUM');

done_testing();
