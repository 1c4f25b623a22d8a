# Copyright (c) 2026, the hnsw developers
#
# pg_upgrade from an older server to this one carries hnsw indexes over as
# they are: the on-disk format does not depend on the server version, so
# the upgraded indexes must return the same rows in the same order as
# before, pass hnsw_verify, and take inserts, deletes and VACUUM.  The old
# cluster's indexes have been built, inserted into and vacuumed, and cover
# filter columns with value links, INCLUDE columns and values in chunks.
#
# HNSW_UPGRADE_FROM names the bin directory of the older installation, with
# hnsw installed in it (test/run.sh sets it when it tests 15 and then 18);
# without it the test is skipped.

use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old_bindir = $ENV{HNSW_UPGRADE_FROM} // '';
plan skip_all => 'HNSW_UPGRADE_FROM names no older installation to upgrade from'
  unless $old_bindir ne '' && -x "$old_bindir/pg_ctl";

my $old = PostgreSQL::Test::Cluster->new('old', install_path => dirname($old_bindir));
my $new = PostgreSQL::Test::Cluster->new('new');
plan skip_all => 'HNSW_UPGRADE_FROM is not an older version than this one'
  unless $old->pg_version < $new->pg_version;

$old->init;
$old->append_conf('postgresql.conf', 'autovacuum = off');
$old->start;
$old->safe_psql('postgres', q{
	CREATE EXTENSION hnsw;
	SELECT setseed(0.3);
	CREATE TABLE items (id int PRIMARY KEY, v real[], grp int, name text);
	INSERT INTO items SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 24)),
		i % 10, 'row ' || i
		FROM generate_series(1, 1500) i;
	CREATE TABLE fitems (LIKE items);
	INSERT INTO fitems SELECT * FROM items;
	CREATE INDEX items_v_idx ON items USING hnsw (v);
	CREATE INDEX fitems_vf_idx ON fitems USING hnsw (v, grp) INCLUDE (name) WITH (filter_links = 8);
	-- rows inserted into the built indexes, and rows deleted and vacuumed away
	INSERT INTO items SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 24)),
		i % 10, 'row ' || i
		FROM generate_series(1501, 2000) i;
	INSERT INTO fitems SELECT * FROM items WHERE id > 1500;
	DELETE FROM items WHERE id % 7 = 0;
	DELETE FROM fitems WHERE id % 7 = 0;
	VACUUM items;
	VACUUM fitems;
	-- vectors larger than a page: their values are kept in chunks
	CREATE TABLE wide (id int, v real[]);
	INSERT INTO wide SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 3000))
		FROM generate_series(1, 60) i;
	CREATE INDEX wide_v_idx ON wide USING hnsw (v);
	INSERT INTO wide SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 3000))
		FROM generate_series(61, 80) i;
	DELETE FROM wide WHERE id % 5 = 0;
	VACUUM wide;
});

# Each index's answers for a fixed set of queries, in order
my %queries = (
	items_v_idx => q{
	SELECT string_agg(ids, ' ' ORDER BY q) FROM (
		SELECT q, (SELECT string_agg(id::text, ',') FROM (
			SELECT id FROM items ORDER BY v <-> ARRAY(SELECT (((q * 7919 + k * 104729) % 1000) / 1000.0)::real
			FROM generate_series(1, 24) k) LIMIT 10) s) AS ids
		FROM generate_series(1, 20) q) t},
	fitems_vf_idx => q{
	SELECT string_agg(ids, ' ' ORDER BY q) FROM (
		SELECT q, (SELECT string_agg(id::text || ':' || name, ',') FROM (
			SELECT id, name FROM fitems WHERE grp = q % 10
			ORDER BY v <-> ARRAY(SELECT (((q * 7919 + k * 104729) % 1000) / 1000.0)::real
			FROM generate_series(1, 24) k) LIMIT 10) s) AS ids
		FROM generate_series(1, 20) q) t},
	wide_v_idx => q{
	SELECT string_agg(ids, ' ' ORDER BY q) FROM (
		SELECT q, (SELECT string_agg(id::text, ',') FROM (
			SELECT id FROM wide ORDER BY v <-> ARRAY(SELECT (((q * 7919 + k * 104729) % 1000) / 1000.0)::real
			FROM generate_series(1, 3000) k) LIMIT 5) s) AS ids
		FROM generate_series(1, 10) q) t});

# each query must use the index it is about, or the test proves nothing
sub check_plan
{
	my ($node, $index) = @_;
	my ($first) = $queries{$index} =~ /\(\s*(SELECT id.*?LIMIT \d+)\)/s;
	$first =~ s/\bq\b/1/g;
	like(
		$node->safe_psql('postgres', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $first"),
		qr/Index (Only )?Scan using $index/,
		"$index: the query uses the index (" . $node->name . ")");
}

my %before;
foreach my $index (sort keys %queries)
{
	check_plan($old, $index);
	$before{$index} = $old->safe_psql('postgres', "SET enable_seqscan = off; $queries{$index}");
}
my $info_query = q{
	SELECT string_agg(format('%s %s %s', c.relname, i.elements, i.deleted), '; ' ORDER BY c.relname)
	FROM pg_class c, hnsw_index_info(c.oid::regclass) i
	WHERE c.relam = (SELECT oid FROM pg_am WHERE amname = 'hnsw')};
my $info_before = $old->safe_psql('postgres', $info_query);

# Debian's 15.20 keeps a version of every column in its attoptions
# ("pg_attver"), a back-branch fix that 18.6 does not know: its pg_restore
# stops on every table with 'unrecognized parameter "pg_attver"'.  That is
# between the two servers, whatever the table's indexes, so clear the key
# before upgrading; it says nothing about the indexes.
$old->safe_psql('postgres', q{
	UPDATE pg_attribute
	SET attoptions = (SELECT array_agg(o) FROM unnest(attoptions) o
					  WHERE o NOT LIKE 'pg_attver=%')
	WHERE array_to_string(attoptions, ',') LIKE '%pg_attver=%'});
$old->stop;

# PostgreSQL 18's initdb turns data checksums on by default; pg_upgrade wants
# the same setting on both sides
my @no_checksums = $new->pg_version >= 18 ? ('--no-data-checksums') : ();
$new->init(extra => \@no_checksums);
$new->append_conf('postgresql.conf', 'autovacuum = off');

my $workdir = PostgreSQL::Test::Utils::tempdir;
command_ok(
	[
		'pg_upgrade', '--no-sync',
		'--old-datadir' => $old->data_dir,
		'--new-datadir' => $new->data_dir,
		'--old-bindir' => $old->config_data('--bindir'),
		'--new-bindir' => $new->config_data('--bindir'),
		'--socketdir' => $new->host,
		'--old-port' => $old->port,
		'--new-port' => $new->port,
		'--copy',
	],
	'pg_upgrade carries the cluster with hnsw indexes over');
$new->start;

is($new->safe_psql('postgres', $info_query), $info_before,
	'the upgraded indexes hold the same elements and deleted elements');
foreach my $index (sort keys %queries)
{
	check_plan($new, $index);
	is($new->safe_psql('postgres', "SET enable_seqscan = off; $queries{$index}"),
		$before{$index}, "$index returns the same rows in the same order after the upgrade");
	is($new->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('$index')"),
		'0', "hnsw_verify finds nothing wrong in $index");
}

# the upgraded indexes take inserts, deletes and VACUUM
$new->safe_psql('postgres', q{
	SELECT setseed(0.4);
	INSERT INTO items SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 24)),
		i % 10, 'new ' || i
		FROM generate_series(2001, 2300) i;
	INSERT INTO fitems SELECT * FROM items WHERE id > 2000;
	DELETE FROM items WHERE id % 11 = 0;
	DELETE FROM fitems WHERE id % 11 = 0;
	VACUUM items;
	VACUUM fitems;
	INSERT INTO wide SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 3000))
		FROM generate_series(81, 90) i;
	DELETE FROM wide WHERE id % 3 = 0;
	VACUUM wide;
});
foreach my $index (sort keys %queries)
{
	is($new->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('$index')"),
		'0', "hnsw_verify finds nothing wrong in $index after inserts, deletes and VACUUM");
}
# every live row is found by its own vector, with and without the filter
# column
foreach my $check (
	[ 'items', '' ],
	[ 'fitems', 'AND t.grp = s.grp' ],
	[ 'wide', '' ])
{
	my ($table, $qual) = @$check;
	is( $new->safe_psql(
			'postgres', qq{
		SET enable_seqscan = off;
		SET hnsw.ef_search = 40;
		SELECT count(*) FROM $table s
		WHERE s.id <> ALL (ARRAY(SELECT t.id FROM $table t WHERE true $qual
			ORDER BY t.v <-> s.v LIMIT 1))}),
		'0', "$table: every live row is found by its own vector after the upgrade ($qual)");
}

$new->stop;
done_testing();
