# Copyright (c) 2026, the hnsw developers
#
# hnsw under Citus: a coordinator and two workers (loopback), a table
# distributed over 8 shards by a tenant column.  Checked: CREATE INDEX
# reaches every shard and each shard's index verifies clean; a top-10 query
# (constant or bound parameter) is pushed down to every shard as an
# ordered hnsw index scan under the LIMIT, and the merged answer reaches
# recall@10 >= 0.95 against the exact one over all rows; hnsw.ef_search set
# on the coordinator (SET LOCAL with citus.propagate_set_commands) reaches
# the shards, and raising it raises recall; a query on one tenant is routed
# to one shard and answered by its filter-column index; inserts, deletes
# and VACUUM through the coordinator leave every shard's index holding just
# its live rows, clean, and every row found by its own vector.  Skipped
# when the server has no Citus (test/build-citus.sh installs it into
# PostgreSQL 18).

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test';
use HnswTest;

my $dim = 24;
my $rows = 16000;
# tenant 0 holds every fourth row (the large tenant), the others share the
# rest, so that every shard holds rows
my $tenant_of = 'CASE WHEN i % 4 = 0 THEN 0 ELSE 1 + i % 63 END';

my $coordinator = PostgreSQL::Test::Cluster->new('coordinator');
plan skip_all => 'Citus is not installed in this server (test/build-citus.sh)'
  unless -f $coordinator->config_data('--pkglibdir') . '/citus.so';

my @workers = map { PostgreSQL::Test::Cluster->new("worker$_") } 1, 2;
foreach my $node ($coordinator, @workers)
{
	$node->init;
	# Citus' nodes reach each other over TCP on the loopback address;
	# shard queries are logged with their plans (auto_explain)
	$node->append_conf('postgresql.conf', qq{
		shared_preload_libraries = 'citus'
		listen_addresses = '127.0.0.1'
		citus.node_conninfo = 'sslmode=disable'
		session_preload_libraries = 'auto_explain'
		auto_explain.log_min_duration = 0
	});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
}
$coordinator->safe_psql('postgres',
	"SELECT citus_set_coordinator_host('127.0.0.1', " . $coordinator->port . ")");
$coordinator->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ")")
  foreach @workers;

# Citus creates the extension on the workers too
$coordinator->safe_psql('postgres', 'CREATE EXTENSION hnsw');
is($_->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'hnsw'"),
	'1', $_->name . ': CREATE EXTENSION hnsw reached it')
  foreach @workers;

$coordinator->safe_psql('postgres', qq{
	SET citus.shard_count = 8;
	CREATE TABLE items (id int NOT NULL, tenant int NOT NULL, v real[] NOT NULL,
						PRIMARY KEY (tenant, id));
	SELECT create_distributed_table('items', 'tenant');
	-- the same rows in a local table of the coordinator, for the exact answers
	SELECT setseed(0.25);
	CREATE TABLE items_local AS
		SELECT i AS id, $tenant_of AS tenant,
			   ARRAY(SELECT random()::real FROM generate_series(1, $dim + 0 * i)) AS v
		FROM generate_series(1, $rows) i;
	INSERT INTO items SELECT * FROM items_local;
	-- a weak graph (m = 8) on which ef_search makes a visible difference;
	-- a filter-column index for the queries on one tenant
	CREATE INDEX items_v_idx ON items USING hnsw (v) WITH (m = 8, ef_construction = 24);
	CREATE INDEX items_v_tenant_idx ON items USING hnsw (v, tenant) WITH (m = 8, ef_construction = 24);
	ANALYZE items;
});

# Each worker's shard indexes (shards are hidden from the catalogs unless
# asked for; the worker's copy of the table itself, items, is empty), with hnsw_verify's problems and the rows their tables hold
sub shard_indexes
{
	my ($worker) = @_;
	my $visible = 'SET citus.override_table_visibility = off;';
	my @indexes = map { [ split /\|/ ] } split /\n/, $worker->safe_psql('postgres', qq{
		$visible
		SELECT c.relname, (SELECT count(*) FROM hnsw_verify(c.oid)), i.elements, i.deleted,
			   x.indrelid::regclass
		FROM pg_class c JOIN pg_am a ON a.oid = c.relam AND a.amname = 'hnsw'
			 JOIN pg_index x ON x.indexrelid = c.oid, hnsw_index_info(c.oid) i
		WHERE c.relname ~ '_[0-9]+\$'
		ORDER BY 1});
	my @counts = split /\n/, $worker->safe_psql('postgres',
		$visible . join('', map { "SELECT count(*) FROM $_->[4];\n" } @indexes));
	$indexes[$_][4] = $counts[$_] foreach 0 .. $#indexes;
	return @indexes;
}

my @indexes = map { shard_indexes($_) } @workers;
is(scalar(@indexes), 16, 'CREATE INDEX reached all 8 shards (two hnsw indexes each)');
is(join(' ', map { "$_->[0]:$_->[1]" } grep { $_->[1] != 0 } @indexes), '',
	"hnsw_verify is clean on every shard's index");
is(join(' ', map { $_->[0] } grep { $_->[2] != $_->[4] } @indexes), '',
	"every shard's index has an element for each of its rows");

my @queries = query_vectors(20, $dim, 7);

# The top-10 query is pushed down to every shard with its LIMIT
my $plan = $coordinator->safe_psql('postgres', qq{
	SET citus.explain_all_tasks = on;
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> $queries[0] LIMIT 10;
});
note($plan);
like($plan, qr/Task Count: 8/, 'the query goes to all 8 shards');
is(scalar(() = $plan =~ /->  Limit\n\s+->  Index Scan using items_v(_tenant)?_idx_\d+ on items_\d+/g),
	8, 'each shard runs the LIMIT over an hnsw index scan');

# a bound parameter is resolved before the shard queries are made
my $param_plan = $coordinator->safe_psql('postgres', qq{
	SET citus.explain_all_tasks = on;
	PREPARE q(real[]) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT 10;
	EXPLAIN (COSTS OFF) EXECUTE q($queries[0]);
});
is(scalar(() = $param_plan =~ /->  Limit\n\s+->  Index Scan using items_v(_tenant)?_idx_\d+/g),
	8, 'with a bound parameter each shard runs the LIMIT over an hnsw index scan');
# a LIMIT that is a parameter too, after the executions at which
# PostgreSQL starts to weigh a generic plan: Citus plans each execution
# with its values, so the shards still get the LIMIT
my $param_limit = $coordinator->safe_psql('postgres', qq{
	SET citus.explain_all_tasks = on;
	PREPARE q(real[], int) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT \$2;
} . "EXECUTE q($queries[0], 10);\n" x 8 . "EXPLAIN (COSTS OFF) EXECUTE q($queries[0], 10);");
is(scalar(() = $param_limit =~ /->  Limit\n\s+->  Index Scan using items_v(_tenant)?_idx_\d+/g),
	8, 'with the LIMIT a parameter too, each shard runs the LIMIT over an hnsw index scan');

# Recall of the merged top 10, at the workers' default ef_search and with
# a wider one set on the coordinator
my $at_ef = sub {
	my ($ef) = @_;
	return "SET citus.propagate_set_commands = 'local'; BEGIN; SET LOCAL hnsw.ef_search = $ef;";
};
my @exact = top_ids($coordinator, 'postgres', 'items_local', 10, \@queries);
my $recall_low = recall_at([ top_ids($coordinator, 'postgres', 'items', 10, \@queries, $at_ef->(2)) ], \@exact);
my $recall_default = recall_at([ top_ids($coordinator, 'postgres', 'items', 10, \@queries) ], \@exact);
my $recall_high = recall_at([ top_ids($coordinator, 'postgres', 'items', 10, \@queries, $at_ef->(100)) ], \@exact);
note("recall\@10 through Citus: $recall_low at ef_search 2, $recall_default at 40, $recall_high at 100");
cmp_ok($recall_default, '>=', 0.95, 'the merged top 10 reaches recall@10 0.95');
cmp_ok($recall_low, '<', $recall_default, 'SET LOCAL hnsw.ef_search on the coordinator reaches the shards');
cmp_ok($recall_high, '>=', $recall_default, 'a wider ef_search is no worse');
like(slurp_file($workers[0]->logfile), qr/SET LOCAL hnsw\.ef_search = 2\b/,
	'the worker received the SET LOCAL');

# or set for the role: Citus sends ALTER ROLE ... SET to the workers, where
# the coordinator's next session's connections pick it up
$coordinator->safe_psql('postgres', 'ALTER ROLE postgres SET hnsw.ef_search = 2');
is($workers[1]->safe_psql('postgres', q{
	SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting
	WHERE setrole = 'postgres'::regrole AND setdatabase = 0}),
	'hnsw.ef_search=2', 'ALTER ROLE ... SET reached the workers');
my $recall_role = recall_at([ top_ids($coordinator, 'postgres', 'items', 10, \@queries) ], \@exact);
$coordinator->safe_psql('postgres', 'ALTER ROLE postgres RESET hnsw.ef_search');
note("recall\@10 with ALTER ROLE ... SET hnsw.ef_search = 2: $recall_role");
cmp_ok($recall_role, '<', $recall_default, 'the role\'s ef_search reaches the shard queries');

my @by_param;
foreach my $q (@queries)
{
	push @by_param, [ split /\n/, $coordinator->safe_psql('postgres', qq{
		PREPARE q(real[]) AS SELECT id FROM items ORDER BY v <-> \$1 LIMIT 10;
		EXECUTE q($q);
	}) ];
}
cmp_ok(recall_at(\@by_param, \@exact), '>=', 0.95,
	'with a bound parameter the merged top 10 reaches recall@10 0.95');

# A query on one tenant is routed to one shard, whose filter-column index
# takes the tenant qual.  The shard's planner chooses among its indexes by
# cost: with the plain index there, the large tenant (most of its shard's
# rows) is read through that one and filtered, so it goes first; a small
# tenant's few rows it ranks exactly, which is cheaper still (noted below).
$coordinator->safe_psql('postgres', 'DROP INDEX items_v_idx');
my $router = $coordinator->safe_psql('postgres',
	"EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant = 0 ORDER BY v <-> $queries[0] LIMIT 10");
note($router);
like($router, qr/Task Count: 1\n/, 'a query on one tenant goes to one shard');
like($router, qr/Index Scan using items_v_tenant_idx_\d+ on items_\d+.*\n\s+Index Cond: \(tenant = 0\)/,
	"the shard's filter-column index takes the tenant qual");
my @exact_tenant = top_ids($coordinator, 'postgres', 'items_local WHERE tenant = 0', 10, \@queries);
my @tenant = top_ids($coordinator, 'postgres', 'items WHERE tenant = 0', 10, \@queries, $at_ef->(100));
cmp_ok(recall_at(\@tenant, \@exact_tenant), '>=', 0.95, 'recall@10 0.95 within one tenant at ef_search 100');
note($coordinator->safe_psql('postgres',
	"EXPLAIN (COSTS OFF) SELECT id FROM items WHERE tenant = 5 ORDER BY v <-> $queries[0] LIMIT 10"));

# Deletes, inserts and VACUUM through the coordinator
$coordinator->safe_psql('postgres', qq{
	DELETE FROM items WHERE id % 10 = 0;
	DELETE FROM items_local WHERE id % 10 = 0;
	SELECT setseed(0.5);
	INSERT INTO items_local
		SELECT i, $tenant_of, ARRAY(SELECT random()::real FROM generate_series(1, $dim + 0 * i))
		FROM generate_series($rows + 1, $rows + 400) i;
	INSERT INTO items SELECT * FROM items_local WHERE id > $rows;
});
$coordinator->safe_psql('postgres', 'VACUUM items');
@indexes = map { shard_indexes($_) } @workers;
is(join(' ', map { "$_->[0]:$_->[1]" } grep { $_->[1] != 0 } @indexes), '',
	"after deletes, inserts and VACUUM: hnsw_verify is clean on every shard's index");
is(join(' ', map { $_->[0] } grep { $_->[2] != $_->[4] || $_->[3] != 0 } @indexes), '',
	"after VACUUM every shard's index has an element for each live row and no deleted one");

# every sampled live row (inserted ones among them) comes first for its
# own vector
my @sample = split /\n/, $coordinator->safe_psql('postgres',
	"SELECT id || '|' || v::text FROM items_local WHERE id % 29 = 0 OR id > $rows ORDER BY id");
my @own = top_ids($coordinator, 'postgres', 'items', 1,
	[ map { (split /\|/)[1] =~ s/^(.*)$/'$1'::real[]/r } @sample ]);
my @missed = map { (split /\|/, $sample[$_])[0] } grep { $own[$_][0] != (split /\|/, $sample[$_])[0] } 0 .. $#sample;
is("@missed", '', 'each of ' . scalar(@sample) . ' rows is found by its own vector');
cmp_ok(recall_at([ top_ids($coordinator, 'postgres', 'items', 10, \@queries) ],
		[ top_ids($coordinator, 'postgres', 'items_local', 10, \@queries) ]),
	'>=', 0.95, 'recall@10 0.95 after deletes, inserts and VACUUM');

done_testing();
