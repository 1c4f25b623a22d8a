# Copyright (c) 2026, the hnsw developers
#
# What the TAP tests in test/t share: a replayable seed for the level draws
# of every backend (hnsw.seed), printed when a test fails, and pgbench
# script files.

package HnswTest;

use strict;
use warnings;
use Exporter 'import';
use Test::More;

our @EXPORT = qw(seed_levels report_seed write_scripts);

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

1;
