# Copyright (c) 2026, the hnsw developers
#
# Indexes written by older releases of hnsw are read by this one.  For each
# earlier on-disk format, the commit that introduced it is taken from the
# repository's history (git archive), built and installed into a copy of
# this server's installation; a cluster of that installation builds
# indexes (plain, with a filter column where the format has one, and of
# storage bit and int8 from format 5 on),
# inserts into them, deletes and vacuums, and records the answers of a set
# of queries.  The cluster is then started by the current build: without a
# REINDEX, the same queries give the same rows in the same order (plans
# asserted), hnsw_verify is clean, hnsw_index_info reports the old format
# version, ALTER EXTENSION hnsw UPDATE runs, and inserts, deletes and
# VACUUM carry on, the live rows found by their own vectors.
#
# Needs the repository (HNSW_REPO, set by test/run.sh) and PostgreSQL 15:
# the old commits predate the support of other versions.

use strict;
use warnings;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test';
use HnswTest;

my $repo = $ENV{HNSW_REPO};
plan skip_all => 'HNSW_REPO (the git repository of hnsw) is not set'
  unless $repo && -d "$repo/.git";
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my ($major) = `$pg_config --version` =~ /PostgreSQL (\d+)/;
plan skip_all => "the old formats' commits build against PostgreSQL 15 only (this is $major)"
  unless $major == 15;

# commit that introduced each format (for format 5, the last commit that
# wrote it, which has storage bit too), and the extension version it
# installs
my @formats = (
	[ 1, 'e38c3e8', '0.1.0' ],
	[ 2, 'eb62328', '0.2.0' ],
	[ 3, '76dcfa9', '0.3.0' ],
	[ 4, '151b19f', '0.3.0' ],
	[ 5, '77c95f2', '0.4.0' ],);

my @missing = grep { system("git -c safe.directory='*' -C '$repo' cat-file -e $_->[1]^{commit} 2>/dev/null") != 0 } @formats;
plan skip_all => 'the repository lacks the old formats\' commits (a shallow clone?)' if @missing;

my $bindir = `$pg_config --bindir`;
my $sharedir = `$pg_config --sharedir`;
chomp($bindir, $sharedir);
(my $installdir = $bindir) =~ s{/bin$}{};

my $queries = fixed_answers_sql();
my $filtered = fixed_answers_sql('grp = q % 5');
my $plan = "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <-> '{0.5}' LIMIT 10";

foreach my $format (@formats)
{
	my ($version, $commit, $extversion) = @$format;
	my $tmp = PostgreSQL::Test::Utils::tempdir;

	# this server's installation, copied, with the old hnsw installed into it
	my $old_install = "$tmp/install";
	foreach my $dir ($installdir, $sharedir)
	{
		make_path("$old_install$dir");
		system("cp -a '$dir/.' '$old_install$dir'") == 0 or die "copying $dir failed";
	}
	make_path("$tmp/src");
	system("git -c safe.directory='*' -C '$repo' archive $commit | tar -x -C '$tmp/src'") == 0
	  or die "git archive $commit failed";
	system("make -s -C '$tmp/src' PG_CONFIG='$pg_config' >'$tmp/build.log' 2>&1") == 0
	  or die "building $commit failed: " . slurp_file("$tmp/build.log");
	system("make -s -C '$tmp/src' PG_CONFIG='$pg_config' DESTDIR='$old_install' install >>'$tmp/build.log' 2>&1") == 0
	  or die "installing $commit failed: " . slurp_file("$tmp/build.log");

	my $old = PostgreSQL::Test::Cluster->new("format$version",
		install_path => "$old_install$installdir");
	$old->init;
	$old->start;
	my $filter_column = $version >= 3;
	$old->safe_psql('postgres', qq{
		CREATE EXTENSION hnsw;
		SELECT setseed(0.$version);
		CREATE TABLE items (id int PRIMARY KEY, grp int, v real[]);
		INSERT INTO items SELECT i, i % 5, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 16))
			FROM generate_series(1, 1500) i;
		CREATE INDEX items_v_idx ON items USING hnsw (v) WITH (m = 8);
	});
	$old->safe_psql('postgres', 'CREATE INDEX items_vg_idx ON items USING hnsw (v, grp)')
	  if $filter_column;
	$old->safe_psql('postgres', q{
		INSERT INTO items SELECT i, i % 5, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 16))
			FROM generate_series(1501, 2000) i;
		DELETE FROM items WHERE id % 7 = 0;
		VACUUM items;
	});
	# format 5: coded storage too (bit codes were rotated over a power of 2
	# of dimensions before format 6), each index on a table of its own
	my @coded = $version >= 5 ? ('bit', 'int8') : ();
	foreach my $storage (@coded)
	{
		$old->safe_psql('postgres', qq{
			CREATE TABLE coded_$storage (id int PRIMARY KEY, v real[]);
			INSERT INTO coded_$storage SELECT i, ARRAY(SELECT (random() * 2 - 1 + 0 * i)::real FROM generate_series(1, 20))
				FROM generate_series(1, 1500) i;
			CREATE INDEX coded_${storage}_idx ON coded_$storage USING hnsw (v) WITH (storage = $storage);
			INSERT INTO coded_$storage SELECT i, ARRAY(SELECT (random() * 2 - 1 + 0 * i)::real FROM generate_series(1, 20))
				FROM generate_series(1501, 1700) i;
		});
	}
	my $coded_queries = sub {
		my ($storage) = @_;
		return qq{
			SET enable_seqscan = off;
			SELECT string_agg(ids, ' ' ORDER BY q) FROM (
				SELECT q, (SELECT string_agg(id::text || ':' || round((v <-> (SELECT v FROM coded_$storage WHERE id = q * 37))::numeric, 4), ',')
					FROM (SELECT id, v FROM coded_$storage ORDER BY v <-> (SELECT v FROM coded_$storage WHERE id = q * 37) LIMIT 5) s) AS ids
				FROM generate_series(1, 40) q) t;
		};
	};
	my @before = ($old->safe_psql('postgres', $queries));
	push @before, $old->safe_psql('postgres', $filtered) if $filter_column;
	push @before, map { $old->safe_psql('postgres', $coded_queries->($_)) } @coded;
	like($old->safe_psql('postgres', $plan), qr/Index Scan using items_v_idx/,
		"format $version ($commit): the old build answers with its index");
	is($old->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'hnsw'"),
		$extversion, "format $version: extension $extversion installed");
	$old->stop;

	# the same data directory, started by this build
	$old->backup_fs_cold('cold');
	my $new = PostgreSQL::Test::Cluster->new("format${version}_now");
	$new->init_from_backup($old, 'cold');
	$new->start;
	like($new->safe_psql('postgres', $plan), qr/Index Scan using items_v_idx/,
		"format $version: the current build plans the old index");
	my @after = ($new->safe_psql('postgres', $queries));
	push @after, $new->safe_psql('postgres', $filtered) if $filter_column;
	push @after, map { $new->safe_psql('postgres', $coded_queries->($_)) } @coded;
	is_deeply(\@after, \@before, "format $version: the same rows in the same order as the old build gave");

	# the extension's SQL brought up to date (0.1.0 had no inspection
	# functions, and its first release no hnsw_verify and distances of the
	# default cost); the index keeps its format
	$new->safe_psql('postgres', 'ALTER EXTENSION hnsw UPDATE');
	is($new->safe_psql('postgres', "SELECT procost FROM pg_proc WHERE oid = 'l2_distance(real[], real[])'::regprocedure"),
		'100', "format $version: the updated extension's distances have their cost");
	is($new->safe_psql('postgres', "SELECT format_version FROM hnsw_index_info('items_v_idx')"),
		$version, "format $version: after ALTER EXTENSION UPDATE, this build reads it as format $version");
	is($new->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('items_v_idx')"),
		'0', "format $version: hnsw_verify is clean");

	# and written to: inserts, deletes, VACUUM
	$new->safe_psql('postgres', q{
		SELECT setseed(0.9);
		INSERT INTO items SELECT i, i % 5, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 16))
			FROM generate_series(2001, 2500) i;
		DELETE FROM items WHERE id % 11 = 0;
		VACUUM items;
	});
	foreach my $storage (@coded)
	{
		$new->safe_psql('postgres', qq{
			INSERT INTO coded_$storage SELECT i, ARRAY(SELECT (random() * 2 - 1 + 0 * i)::real FROM generate_series(1, 20))
				FROM generate_series(1701, 1900) i;
			DELETE FROM coded_$storage WHERE id % 13 = 0;
			VACUUM coded_$storage;
		});
		is($new->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('coded_${storage}_idx')"),
			'0', "format $version: storage $storage verifies clean after inserts, deletes and VACUUM");
		cmp_ok($new->safe_psql('postgres', qq{
			SET enable_seqscan = off;
			SET hnsw.ef_search = 100;
			SELECT count(*) FROM coded_$storage i
			WHERE i.id <> (SELECT j.id FROM coded_$storage j ORDER BY j.v <-> i.v LIMIT 1)}),
			'<=', 2, "format $version: storage $storage: the live rows are found by their own vectors");
	}
	my @indexes = ('items_v_idx', $filter_column ? ('items_vg_idx') : ());
	foreach my $index (@indexes)
	{
		is($new->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('$index')"),
			'0', "format $version: $index verifies clean after inserts, deletes and VACUUM");
		is($new->safe_psql('postgres', "SELECT elements, deleted FROM hnsw_index_info('$index')"),
			$new->safe_psql('postgres', 'SELECT count(*) FROM items') . '|0',
			"format $version: $index holds an element for each live row and no deleted one");
	}
	# (a search can miss a row in a local minimum: at ef_search 200, at
	# most 0.1% of the rows, as TAP 001 and 003 allow)
	cmp_ok($new->safe_psql('postgres', q{
		SET enable_seqscan = off;
		SET hnsw.ef_search = 200;
		SELECT count(*) FROM items i
		WHERE i.id <> (SELECT j.id FROM items j ORDER BY j.v <-> i.v LIMIT 1)}),
		'<=', 2, "format $version: the live rows are found by their own vectors");
	$new->stop;
}

done_testing();
