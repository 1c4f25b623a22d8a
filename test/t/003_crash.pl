# Copyright (c) 2026, the hnsw developers
#
# Ten crashes (kill -9 of the postmaster, or an immediate shutdown) in the
# middle of concurrent inserts, deletes and VACUUM, each followed by
# restart and recovery: the index has no structural problem, is wholly
# clean after a VACUUM, and every sampled row is found by its own vector;
# in the end, every row is.

use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test';
use HnswTest;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nrestart_after_crash = on");
# the level draws of every backend start from one seed (HnswTest.pm)
my $seed = seed_levels($node);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION hnsw;
	CREATE TABLE items (id serial PRIMARY KEY, v real[]);
	INSERT INTO items (v) SELECT ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 24))
		FROM generate_series(1, 1000) i;
	CREATE INDEX items_v_idx ON items USING hnsw (v);
});

my $dir = PostgreSQL::Test::Utils::tempdir;
my %scripts = (
	'insert.sql' => "INSERT INTO items (v) SELECT ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 24)) FROM generate_series(1, 10) i;\n",
	'delete.sql' => "\\set k random(1, 100000)\nDELETE FROM items WHERE id IN (SELECT id FROM items WHERE id >= :k ORDER BY id LIMIT 5);\n",
	'vacuum.sql' => "VACUUM items;\n");
write_scripts($dir, %scripts);

# Rows (the $limit newest, or all) looked up by their own vectors at
# hnsw.ef_search = 100; the rare one a greedy search misses there (a local
# minimum, not an unreachable element: hnsw_verify checks those) must be
# found at 400.  Returns (rows, missed at 100, found at 400 of those).
sub self_search
{
	my ($limit) = @_;
	my $rows = $limit ? "(SELECT * FROM items ORDER BY id DESC LIMIT $limit)" : 'items';
	return split /\|/, $node->safe_psql('postgres', qq{
		SET enable_seqscan = off;
		SET hnsw.ef_search = 100;
		CREATE TEMP TABLE sample AS SELECT id, v FROM $rows s;
		CREATE TEMP TABLE missed AS SELECT id, v FROM sample i
			WHERE i.id IS DISTINCT FROM (SELECT id FROM items j ORDER BY j.v <-> i.v LIMIT 1);
		SET hnsw.ef_search = 400;
		SELECT (SELECT count(*) FROM sample), count(*),
			count(*) FILTER (WHERE m.id = (SELECT id FROM items j ORDER BY j.v <-> m.v LIMIT 1))
		FROM missed m;
	});
}

sub verify
{
	return split /\n/, $node->safe_psql('postgres',
		"SELECT format('(%s,%s) %s', blkno, offnum, problem) FROM hnsw_verify('items_v_idx')");
}

for my $round (1 .. 10)
{
	my ($out, $err) = ('', '');
	my $pgbench = IPC::Run::start(
		[
			'pgbench', '--no-vacuum', '--client=4', '--jobs=2', '--time=20',
			'-f', "$dir/insert.sql\@6", '-f', "$dir/delete.sql\@3",
			'-f', "$dir/vacuum.sql\@1", '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	# let the writers get going, then take the server down without a
	# checkpoint: SIGKILL of the postmaster in odd rounds, an immediate
	# shutdown in even ones
	sleep(1 + $round % 3);
	if ($round % 2)
	{
		$node->kill9;
		$pgbench->finish;
		# the orphaned backends exit when they notice the postmaster is
		# gone; until then their shared memory keeps a new one from starting
		my $started = 0;
		for (1 .. 60)
		{
			last if ($started = $node->start(fail_ok => 1));
			# a failed start remembers the pid file's pid; forget it to retry
			$node->{_pid} = undef;
			sleep(1);
		}
		ok($started, "round $round: restarted after kill -9 of the postmaster");
	}
	else
	{
		$node->stop('immediate');
		$pgbench->finish;
		$node->start;
	}

	# Straight after recovery nothing may be broken.  One known gap (README
	# "Known gaps") is counted and must stay rare: an element that pruning
	# left with no in-links, which the next VACUUM links back.
	my $gap = qr/cannot be reached from the entry point/;
	my @problems = verify();
	my @unreachable = grep { /$gap/ } @problems;
	my @structural = grep { !/$gap/ } @problems;
	is(scalar(@structural), 0, "round $round: hnsw_verify finds no structural problem")
	  or diag(join("\n", @structural[0 .. ($#structural < 9 ? $#structural : 9)]));
	diag("round $round: before VACUUM: " . join('; ', @unreachable)) if @unreachable;
	my $rows_now = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
	cmp_ok(scalar(@unreachable), '<=', $rows_now / 1000,
		"round $round: unreachable elements before VACUUM in at most 0.1% of rows");

	# after a VACUUM, nothing at all
	$node->safe_psql('postgres', 'VACUUM items');
	@problems = verify();
	is(scalar(@problems), 0, "round $round: hnsw_verify is clean after VACUUM")
	  or diag(join("\n", @problems[0 .. ($#problems < 9 ? $#problems : 9)]));

	my ($sampled, $missed, $found_wider) = self_search(500);
	diag("round $round: $missed of $sampled sampled rows missed at ef_search 100") if $missed > 0;
	cmp_ok($missed, '<=', 1, "round $round: at most one of $sampled sampled rows missed at ef_search 100");
	is($found_wider, $missed, "round $round: all $sampled sampled rows are found by their own vectors");
}

my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
cmp_ok($rows, '>', 1000, "the rows written between crashes are there ($rows)");

# in the end every row, not just a sample, is found by its own vector
my ($all, $all_missed, $all_found_wider) = self_search(0);
diag("$all_missed of $all rows missed at ef_search 100") if $all_missed > 0;
cmp_ok($all_missed, '<=', $all / 1000, "at most 0.1% of the $all rows missed at ef_search 100");
is($all_found_wider, $all_missed, "every one of the $all rows is found by its own vector");

report_seed($seed);
done_testing();
