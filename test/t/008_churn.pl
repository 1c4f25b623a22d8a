# Copyright (c) 2026, the hnsw developers
#
# A churn soak: an index on real vectors (Fashion-MNIST images, from
# Debian's dataset-fashion-mnist) goes through rounds of deleting 10% of the
# rows, inserting as many, and VACUUM, while pgbench queries it, and after
# every round: hnsw_verify is clean, recall@10 at ef_search 10 (1,000
# queries) stays within 0.015 of the first round's and of a fresh build of
# the same rows, and the index stays within 1.5x of its
# size after the first round (VACUUM's space is reused).  The curve is
# printed (note) round by round, with the layer-0 out-degree of both.
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

# 1,000 queries: with 500, the recall of one graph against another of the
# same rows varied by up to 0.014 (fresh builds), so that "within 0.01 of
# round 1" failed on level draws alone (bench/RESULTS.md).  With 1,000 it
# still did, once: HNSW_TEST_SEED=923598840 gives round 1 0.9729 and round 8
# 0.9584, while fresh builds of the rounds' rows ranged from 0.9660 to
# 0.9754 and round 8's own was 0.9660 (the same figures before and after
# the seventh session's changes).  Round 1 is one graph's draw like any
# other, so it gets the fresh builds' tolerance.
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

my ($first_recall, $first_size);
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
	$first_recall //= $r;
	$first_size //= $size;
	note(sprintf("round %d: recall@10 %.4f (a fresh build of the same rows: %.4f), layer-0 out-degree %.2f (fresh %.2f), entry point %s, index %.1f MiB (%.2fx round 1), %s rows",
			$round, $r, $fresh, $degree, $fresh_degree, $entry, $size / 2**20, $size / $first_size,
			$node->safe_psql('postgres', 'SELECT count(*) FROM items')));
	is($problems, '0', "round $round: hnsw_verify is clean");
	cmp_ok($r, '>=', $first_recall - 0.015, "round $round: recall $r within 0.015 of round 1's $first_recall");
	# fresh builds of different rows differ by up to about 0.01 themselves
	cmp_ok($r, '>=', $fresh - 0.015, "round $round: recall $r within 0.015 of a fresh build's $fresh");
	cmp_ok($size, '<=', 1.5 * $first_size, "round $round: the index within 1.5x its size after round 1");
}

report_seed($seed);
done_testing();
