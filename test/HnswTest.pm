# Copyright (c) 2026, the hnsw developers
#
# What the TAP tests in test/t share: a replayable seed for the level draws
# of every backend (hnsw.seed), printed when a test fails, pgbench script
# files, and recall against an exact answer for the sharded setups (009,
# 010).

package HnswTest;

use strict;
use warnings;
use Exporter 'import';
use Test::More;

our @EXPORT = qw(seed_levels report_seed write_scripts fixed_answers_sql
  query_vectors top_ids recall_at);

# Give every backend of node the same hnsw.seed: HNSW_TEST_SEED, or one
# drawn at random.  Call before the node starts; returns the seed.
sub seed_levels
{
	my ($node) = @_;
	my $seed = $ENV{HNSW_TEST_SEED} // (1 + int(rand(2**31 - 2)));
	note("hnsw.seed = $seed");
	$node->append_conf('postgresql.conf', "hnsw.seed = $seed");
	return $seed;
}

# At the end of a test: name the seed if anything failed, so that
# HNSW_TEST_SEED can replay the run (timing aside)
sub report_seed
{
	my ($seed) = @_;
	diag("hnsw.seed was $seed: HNSW_TEST_SEED=$seed replays it")
	  unless Test::More->builder->is_passing;
}

# Write each of the scripts (name => text) into dir
sub write_scripts
{
	my ($dir, %scripts) = @_;
	foreach my $name (keys %scripts)
	{
		open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
		print $fh $scripts{$name};
		close $fh;
	}
}

# SQL giving an index's answers (ids, in order) to 20 fixed query vectors
# of 16 dimensions, on one line, to compare servers or builds: "SELECT id
# FROM items [WHERE where] ORDER BY v <-> q LIMIT 10" with sequential scans
# off; where may use q, the query's number (1 to 20)
sub fixed_answers_sql
{
	my ($where) = @_;
	$where = $where ? "WHERE $where" : '';
	return qq{
	SET enable_seqscan = off;
	SELECT string_agg(ids, ' ' ORDER BY q) FROM (
		SELECT q, (SELECT string_agg(id::text, ',') FROM (
			SELECT id FROM items $where
			ORDER BY v <-> ARRAY(SELECT (((q * 7919 + k * 104729) % 1000) / 1000.0)::real
			FROM generate_series(1, 16) k) LIMIT 10) s) AS ids
		FROM generate_series(1, 20) q) t;
};
}

# n query vectors of dim dimensions in [0, 1), the same on every run, as
# real[] literals
sub query_vectors
{
	my ($n, $dim, $seed) = @_;
	srand($seed);
	return map {
		"'{" . join(',', map { sprintf('%.4f', rand()) } 1 .. $dim) . "}'::real[]"
	} 1 .. $n;
}

# The ids of the first k rows of "SELECT id FROM from ORDER BY v <-> q
# LIMIT k" for each query q, one array per query, from one psql session;
# prelude is SQL run first (SET ...)
sub top_ids
{
	my ($node, $db, $from, $k, $queries, $prelude) = @_;
	my $sql = ($prelude // '') . "\n";
	$sql .= "SELECT string_agg(id::text, ',' ORDER BY n) FROM (SELECT id, "
	  . "row_number() OVER () AS n FROM (SELECT id FROM $from ORDER BY v <-> $_ "
	  . "LIMIT $k) s) t;\n"
	  foreach @$queries;
	my @lines = split /\n/, $node->safe_psql($db, $sql);
	die "top_ids: " . scalar(@lines) . " answers for " . scalar(@$queries) . " queries"
	  unless @lines == @$queries;
	return map { [ split /,/, $_ ] } @lines;
}

# Mean recall@k of the answers in got against the exact ones in want (both
# as top_ids returns them)
sub recall_at
{
	my ($got, $want) = @_;
	my ($hits, $total) = (0, 0);
	for my $i (0 .. $#$want)
	{
		my %exact = map { $_ => 1 } @{ $want->[$i] };
		$hits += grep { $exact{$_} } @{ $got->[$i] };
		$total += @{ $want->[$i] };
	}
	return $total ? $hits / $total : 0;
}

1;
