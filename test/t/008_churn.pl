# Copyright (c) 2026, the hnsw developers
#
# A churn soak: an index on real vectors (Fashion-MNIST images, from
# Debian's dataset-fashion-mnist) goes through rounds of deleting 10% of the
# rows, inserting as many, and VACUUM, while pgbench queries it.  After
# every round: hnsw_verify is clean, the index stays within 1.5x of its
# size after the first round (VACUUM's space is reused), its layer-0
# out-degree stays within 5% of a fresh build's of the same rows, and its
# recall@10 at ef_search 10 (1,000 queries) within 0.03 of that fresh
# build's; over all rounds, recall stays within 0.012 of the fresh builds'
# on average.  The curve is printed (note) round by round.
#
# It takes minutes, so it runs only with HNSW_SOAK=1: test/run.sh sets
# that for the last server version it tests.

use strict;
use warnings;
use IO::Uncompress::Gunzip qw($GunzipError);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 'test';
use HnswTest;

# What the bounds separate (bench/RESULTS.md, 2026-12-07): with VACUUM's
# repair of lists left out (deleted neighbours only struck out), the
# out-degree fell to 0.90x a fresh build's in round 1 and 0.71x by round
# 10, and recall to 0.013-0.058 below the fresh builds' (0.023 on average);
# with the repair, out-degree is 0.97x (repaired lists are cut to 15 of 16
# on purpose) and recall 0.005 below on average.  One round alone is a
# poor judge of recall: a graph may miss a tight group of near-identical
# images at ef_search 10, which costs up to 0.016 for that round (round 8,
# HNSW_TEST_SEED=410292354: ten queries at 0/10 whose answers a fresh build
# found, all found at ef_search 40), so the per-round bound only catches a
# collapse and the average does the rest.
plan skip_all => 'the churn soak runs with HNSW_SOAK=1' unless $ENV{HNSW_SOAK};
my $images = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
plan skip_all => "$images is missing (Debian's dataset-fashion-mnist)" unless -r $images;

my $rows = 4000;
my $pool = 7000;
my $nq = 1000;				# queries: the last $nq images of the pool
my $rounds = $ENV{HNSW_CHURN_ROUNDS} // 10;

# the first $pool images as real[] literals
my @vectors;
{
	my $z = IO::Uncompress::Gunzip->new($images) or die "gunzip $images: $GunzipError";
	my $header;
	$z->read($header, 16) == 16 or die "short read";
	my ($magic, $n, $h, $w) = unpack('N4', $header);
	die "$images: not an IDX image file" unless $magic == 2051;
	for my $i (1 .. $pool)
	{
		my $img;
		$z->read($img, $h * $w) == $h * $w or die "short read";
		push @vectors, '{' . join(',', unpack('C*', $img)) . '}';
	}
}

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\nshared_buffers = 256MB");
my $seed = seed_levels($node);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION hnsw;
	CREATE TABLE pool (id int PRIMARY KEY, v real[]);
	CREATE TABLE items (id int PRIMARY KEY, v real[]);
	CREATE TABLE queries (qid int PRIMARY KEY, v real[]);
});
my $copy = join('', map { ($_ + 1) . "\t$vectors[$_]\n" } 0 .. $#vectors);
$node->safe_psql('postgres', "COPY pool FROM STDIN;\n$copy\\.\n");
$node->safe_psql('postgres', qq{
	INSERT INTO items SELECT * FROM pool WHERE id <= $rows;
	-- queries: images of the pool never in the table, slightly shifted
	INSERT INTO queries SELECT id, ARRAY(SELECT x + 0.5 FROM unnest(v) x) FROM pool
		WHERE id > $pool - $nq;
	CREATE INDEX items_idx ON items USING hnsw (v) WITH (m = 8, ef_construction = 32);
});

# tie-aware recall@10 of the index at ef_search 10 against an exact scan
# (m = 8 and ef_construction = 32 keep it off the ceiling of 1.0, where
# a loss could not show)
sub recall
{
	my ($table) = @_;
	$table //= 'items';
	return $node->safe_psql('postgres', qq{
		SET hnsw.ef_search = 10;
		SET enable_seqscan = off;
		CREATE TEMP TABLE kth AS
			SELECT q.qid, (SELECT (i.v <-> q.v) + 0 FROM $table i ORDER BY 1 OFFSET 9 LIMIT 1) AS d
			FROM queries q;
		SELECT round(sum(found)::numeric / (10 * count(*)), 4)
		FROM queries q JOIN kth USING (qid),
			LATERAL (SELECT count(*) AS found FROM
					 (SELECT i.v <-> q.v AS d FROM $table i ORDER BY i.v <-> q.v LIMIT 10) s
					 WHERE s.d <= kth.d * (1 + 1e-9)) f;
	});
}

my $dir = PostgreSQL::Test::Utils::tempdir;
open my $fh, '>', "$dir/query.sql" or die;
print $fh "\\set q random(" . ($pool - $nq + 1) . ", $pool)\n"
  . "SELECT id FROM items ORDER BY v <-> (SELECT v FROM queries WHERE qid = :q) LIMIT 10;\n";
close $fh;

my ($first_size, $loss_sum) = (undef, 0);
my $churn = int($rows / 10);
for my $round (1 .. $rounds)
{
	# queries run all through the round's writes
	my ($out, $err) = ('', '');
	my $pgbench = IPC::Run::start(
		[
			'pgbench', '--no-vacuum', '--client=2', '--jobs=2', '--time=600',
			'-f', "$dir/query.sql", '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	$node->safe_psql('postgres', qq{
		SELECT setseed(0.$round);
		DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT $churn);
		INSERT INTO items SELECT * FROM pool p
		WHERE p.id <= $pool - $nq AND NOT EXISTS (SELECT FROM items i WHERE i.id = p.id)
		ORDER BY random() LIMIT $churn;
	});
	$node->safe_psql('postgres', 'VACUUM items');
	$pgbench->signal('INT');
	$pgbench->finish;

	my $problems = $node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('items_idx')");
	my $size = $node->safe_psql('postgres', "SELECT pg_relation_size('items_idx')");
	my $r = recall();
	# the same rows in a fresh build: what the churned graph is measured
	# against, since the rows (and so the queries' answers) change
	$node->safe_psql('postgres', q{
		DROP TABLE IF EXISTS fresh;
		CREATE TABLE fresh AS SELECT * FROM items;
		CREATE INDEX fresh_v_idx ON fresh USING hnsw (v) WITH (m = 8, ef_construction = 32);
	});
	my $fresh = recall('fresh');
	my $entry = $node->safe_psql('postgres', "SELECT entry_point || ' level ' || entry_level FROM hnsw_index_info('items_idx')");
	my ($degree, $fresh_degree) = map {
		$node->safe_psql('postgres', "SELECT round(mean_out_degree[1]::numeric, 2) FROM hnsw_index_info('$_')")
	} 'items_idx', 'fresh_v_idx';
	$first_size //= $size;
	$loss_sum += $fresh - $r;
	note(sprintf("round %d: recall@10 %.4f (a fresh build of the same rows: %.4f), layer-0 out-degree %.2f (fresh %.2f), entry point %s, index %.1f MiB (%.2fx round 1), %s rows",
			$round, $r, $fresh, $degree, $fresh_degree, $entry, $size / 2**20, $size / $first_size,
			$node->safe_psql('postgres', 'SELECT count(*) FROM items')));
	is($problems, '0', "round $round: hnsw_verify is clean");
	cmp_ok($r, '>=', $fresh - 0.03, "round $round: recall $r within 0.03 of a fresh build's $fresh");
	cmp_ok($degree, '>=', 0.95 * $fresh_degree,
		"round $round: layer-0 out-degree $degree within 5% of a fresh build's $fresh_degree");
	cmp_ok($size, '<=', 1.5 * $first_size, "round $round: the index within 1.5x its size after round 1");
}
my $mean_loss = sprintf('%.4f', $loss_sum / $rounds);
cmp_ok($mean_loss, '<=', 0.012, "recall on average $mean_loss below the fresh builds' (at most 0.012)");

report_seed($seed);
done_testing();
