# Copyright (c) 2026, the hnsw developers
#
# A damaged index file is an error with ERRCODE_INDEX_CORRUPTED (or the
# buffer manager's data-corruption error), or a report of hnsw_verify;
# never a crash: the server stays up.  Also for an index with filter columns,
# and a damaged code of an int8, half or bit index.

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
# PostgreSQL 18's initdb turns data checksums on, and a checksum failure
# ("invalid page", XX001) would then stop every read of a damaged page
# before the index's own checks, which are what this test is about
$node->init(extra => [ $node->pg_version >= 18 ? ('--no-data-checksums') : () ]);
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION hnsw;
	SELECT setseed(0.7);
	CREATE TABLE items (id int, v real[]);
	INSERT INTO items SELECT i, ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 16))
		FROM generate_series(1, 2000) i;
	CREATE INDEX items_v_idx ON items USING hnsw (v);
});
my $blcksz = 8192;
my ($file, $pristine, $nblocks);
my $query = q{\set VERBOSITY verbose
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> ARRAY(SELECT 0.5::real FROM generate_series(1, 16)) LIMIT 10) s;
};

is($node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('items_v_idx')"), '0',
	'the fresh index verifies clean');

# the file of index $index as the server leaves it on a clean shutdown:
# what damage() damages and restore() puts back
sub take_pristine
{
	my ($index) = @_;
	$file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index')");
	$node->stop;
	open my $fh, '<:raw', $file or die "open $file: $!";
	$pristine = do { local $/; <$fh> };
	close $fh;
	$node->start;
	$nblocks = length($pristine) / $blcksz;
}
take_pristine('items_v_idx');

# stop the server, make the index file $contents, start it again
sub install_file
{
	my ($contents) = @_;
	$node->stop;
	open my $out, '>:raw', $file or die;
	print $out $contents;
	close $out;
	$node->start;
}

# overwrite bytes at $offset of the pristine file
sub damage
{
	my ($offset, $bytes) = @_;
	my $copy = $pristine;
	substr($copy, $offset, length($bytes)) = $bytes;
	install_file($copy);
}

sub restore
{
	install_file($pristine);
}

# the metapage's magic number
damage(24, "\xde\xad\xbe\xef");
my ($ret, $stdout, $stderr) = $node->psql('postgres', $query);
like($stderr, qr/XX002: index "items_v_idx" is corrupted/, 'bad magic number: index corrupted error');
like($stderr, qr/REINDEX/, 'bad magic number: the hint says REINDEX');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');
like($node->safe_psql('postgres', "SELECT string_agg(problem, ';') FROM hnsw_verify('items_v_idx')"),
	qr/magic number/, 'hnsw_verify reports the magic number');
restore();

# the format version
damage(28, "\x63\x00\x00\x00");
($ret, $stdout, $stderr) = $node->psql('postgres', $query);
like($stderr, qr/XX002: index "items_v_idx" has format version 99, but this build of hnsw reads versions 1 to 6/,
	'other format version: clear error');
restore();

# an index as version 0.1.0 wrote it (format version 1, whose metapage ends
# before max_layers): read with the defaults of the options it lacks
{
	my $copy = $pristine;
	substr($copy, 28, 4) = "\x01\x00\x00\x00";
	substr($copy, 50, 10) = "\x00" x 10;
	install_file($copy);
}
($ret, $stdout, $stderr) = $node->psql('postgres', $query);
is($stdout, '10', 'format version 1: the index answers');
is($node->safe_psql('postgres',
	"SELECT format_version || ',' || max_layers || ',' || level_scale || ',' || keep_pruned || ',' || extend_candidates FROM hnsw_index_info('items_v_idx')"),
	'1,16,1,true,false', 'format version 1: read with the options it was built with');
$node->safe_psql('postgres', q{INSERT INTO items SELECT 5000, ARRAY(SELECT 0.25::real FROM generate_series(1, 16))});
is($node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('items_v_idx')"), '0',
	'format version 1: takes inserts and verifies clean');
restore();

# a compact layer-0 list (format 6) that does not decode within its bytes
# (all of them 0xff: a varint that never ends): the element of row 1,
# which a search for row 1's vector expands, so the scan reads its list
{
	my ($eblk, $eoff) = $node->safe_psql('postgres', q{
		SELECT (g.element::text::point)[0] || '|' || (g.element::text::point)[1]
		FROM hnsw_graph('items_v_idx') g JOIN items i ON i.ctid = g.heap_tid
		WHERE i.id = 1 AND g.layer = 0}) =~ /^(\d+)\|(\d+)$/ or die "no element for row 1";
	my $lp = unpack('V', substr($pristine, $eblk * $blcksz + 24 + 4 * ($eoff - 1), 4));
	my $start = $eblk * $blcksz + ($lp & 0x7fff);
	my ($level, $flags, $count, $value_offset) = unpack('Cvvv', substr($pristine, $start + 1, 7));
	ok(($flags & 16) && $count > 0, 'the element of row 1 has a compact list of neighbours');
	# the list follows the 14-byte header, and the upper tuple's TID if any
	my $list_start = 14 + ($level > 0 ? 6 : 0);
	my $listbytes = $value_offset - $list_start;
	damage($start + $list_start, "\xff" x $listbytes);
	($ret, $stdout, $stderr) = $node->psql('postgres', q{\set VERBOSITY verbose
		SET enable_seqscan = off;
		SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 1) LIMIT 10) s});
	like($stderr, qr/XX002: index "items_v_idx" is corrupted.*\n.*DETAIL:  The neighbour list of an element does not decode/,
		'an undecodable compact list: index corrupted error');
	like($node->safe_psql('postgres', "SELECT string_agg(DISTINCT problem, ';') FROM hnsw_verify('items_v_idx')"),
		qr/layer-0 list does not decode in its $listbytes bytes/,
		'hnsw_verify reports the undecodable list');
	is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');
	restore();
}

# the special space (page id) of element pages here and there
my $special_hits = 0;
my @blocks = (1, 2, int($nblocks / 2), $nblocks - 1);
for my $blk (@blocks)
{
	damage($blk * $blcksz + $blcksz - 2, "\x00\x00");
	($ret, $stdout, $stderr) = $node->psql('postgres', $query);
	my $verify = $node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('items_v_idx')");
	$special_hits++ if ($stderr =~ /XX002/ || $verify > 0);
	restore();
}
is($special_hits, scalar(@blocks), 'a bad page id on an element page is noticed');

# the array header of every stored vector says its data lies far away:
# the kernel must never be sent there
{
	my $copy = $pristine;
	my $header = pack('l<l<L<', 1, 0, 700);	# ndim 1, no NULLs, float4
	my $count = ($copy =~ s/\Q$header\E/pack('l<l<L<', 1, 0x7fffff00, 700)/ge);
	ok($count >= 2000, 'the array header of every stored vector found');
	install_file($copy);
}
($ret, $stdout, $stderr) = $node->psql('postgres', $query);
like($stderr, qr/XX002: index "items_v_idx" is corrupted.*\n.*DETAIL:  The value of the element at \(\d+,\d+\) is malformed/,
	'a malformed stored vector: index corrupted error');
like($node->safe_psql('postgres', "SELECT string_agg(DISTINCT problem, ';') FROM hnsw_verify('items_v_idx')"),
	qr/its value is malformed/, 'hnsw_verify reports malformed values');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is still up');
restore();

# Random bytes in the tuple area of pages: a query returns its rows or
# raises "index is corrupted" (XX002), never an internal error (XX000) or a
# crash, and the damage is detected (XX002 from the query, or a row from
# hnsw_verify) in at least $min_detected of the rounds.  Not in all: bytes
# can land in a page's free space, or in a neighbour slot or vector value
# that stays well-formed.  A round's damage that goes unseen is one the
# index reads as a different but valid graph or value.
srand($ENV{HNSW_CORRUPTION_SEED} // 42);
my $rounds = 20;
# (over seeds 1, 2, 3 and 42, HNSW_CORRUPTION_SEED: 13 to 15 of 20 for the
# plain index, 14 to 20 with filter columns; format 5's lists of slots gave
# 16 to 18 and 18 to 19: damage to a compact list more often decodes into
# other elements, and the verifier's check that a list's unused bytes are
# zero catches only some)
my $min_detected = 12;

sub random_damage
{
	my ($what, $index, $q) = @_;
	my $detected = 0;
	for my $round (1 .. $rounds)
	{
		my $blk = 1 + int(rand($nblocks - 1));
		my $offset = $blk * $blcksz + 24 + int(rand($blcksz - 48));
		my $bytes = join('', map { chr(int(rand(256))) } 1 .. 16);
		damage($offset, $bytes);
		my ($qret, $qout, $qerr) = $node->psql('postgres', $q);
		unlike($qerr, qr/XX000|PANIC|server closed/, "$what, random damage $round: no internal error");
		my ($vret, $vout, $verr) = $node->psql('postgres',
			"SELECT count(*) FROM hnsw_verify('$index')");
		unlike($verr, qr/XX000|PANIC|server closed/, "$what, random damage $round: the verifier reports");
		$detected++ if $qerr =~ /XX002/ || ($vret == 0 && $vout > 0) || $verr =~ /XX00[12]/;
		is($node->safe_psql('postgres', 'SELECT 1'), '1', "$what, random damage $round: the server is still up");
		restore();
	}
	note("$what: damage detected in $detected of $rounds rounds");
	cmp_ok($detected, '>=', $min_detected, "$what: damage detected in at least $min_detected of $rounds rounds");
}
random_damage('plain index', 'items_v_idx', $query);

# the same random damage to an index with filter columns, queried through
# them: the filter values are checked against their element's bounds
$node->safe_psql('postgres', q{
	CREATE TABLE fitems (id int, grp int, big bigint, label text, v real[]);
	INSERT INTO fitems SELECT i, i % 10, i, 'label' || (i % 7),
		ARRAY(SELECT (random() + 0 * i)::real FROM generate_series(1, 8))
		FROM generate_series(1, 2000) i;
	CREATE INDEX fitems_idx ON fitems USING hnsw (v, grp, big, label);
});
is($node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('fitems_idx')"), '0',
	'the fresh index with filter columns verifies clean');
take_pristine('fitems_idx');
my $fquery = q{\set VERBOSITY verbose
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM fitems WHERE grp = 3 AND big > 100 AND label >= 'label2'
	ORDER BY v <-> ARRAY(SELECT 0.5::real FROM generate_series(1, 8)) LIMIT 10) s;
};
random_damage('filter columns', 'fitems_idx', $fquery);

# the filter directory (block 1, right after the metapage): a chain that
# leads to an element page or round in a circle, and a tuple whose filter
# columns claim more bytes than it has, are reported, not followed
my %directory_damage = (
	'chain to an element page' => [ $blcksz + $blcksz - 6, pack('vv', 0, 2),
		qr/Block 2: the filter directory chain leads to a page of another kind/ ],
	'chain in a circle' => [ $blcksz + $blcksz - 6, pack('vv', 0, 1),
		qr/Block 1: the filter directory chain goes round in a circle/ ],
	'tuple too long' => [ $blcksz + (unpack('V', substr($pristine, $blcksz + 24, 4)) & 0x7fff) + 14,
		pack('v', 0x1fff), qr/Block 1: a filter directory tuple is malformed/ ]);
for my $what (sort keys %directory_damage)
{
	my ($offset, $bytes, $detail) = @{ $directory_damage{$what} };
	damage($offset, $bytes);
	($ret, $stdout, $stderr) = $node->psql('postgres', $fquery);
	like($stderr, qr/XX002: index "fitems_idx" is corrupted.*\n.*DETAIL:  $detail/,
		"filter directory, $what: index corrupted error");
	isnt($node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('fitems_idx')"), '0',
		"filter directory, $what: hnsw_verify reports it");
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "filter directory, $what: the server is still up");
	restore();
}

# storage int8, half and bit: a damaged code (its last byte) is reported
# by hnsw_verify, which codes every value again; a scan still runs (a code
# is not checked on the way: its damage may cost recall, and the order of
# the rows near it) and the server stays up
foreach my $storage ('int8', 'half', 'bit')
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE c_$storage (id int, v real[]);
		INSERT INTO c_$storage SELECT i, ARRAY(SELECT (random() * 2 - 1 + 0 * i)::real FROM generate_series(1, 32))
			FROM generate_series(1, 500) i;
		CREATE INDEX c_${storage}_idx ON c_$storage USING hnsw (v) WITH (storage = '$storage');
	});
	is($node->safe_psql('postgres', "SELECT count(*) FROM hnsw_verify('c_${storage}_idx')"), '0',
		"storage $storage: the fresh index verifies clean");
	# the first element tuple: its page, and its line pointer's offset and length
	my ($blk, $off) = split /\|/, $node->safe_psql('postgres', qq{
		SELECT b, offnum FROM generate_series(1, pg_relation_size('c_${storage}_idx') / $blcksz - 1) b,
			LATERAL hnsw_page_items('c_${storage}_idx', b) WHERE kind = 'element' ORDER BY b, offnum LIMIT 1});
	take_pristine("c_${storage}_idx");
	my $lp = unpack('V', substr($pristine, $blk * $blcksz + 24 + 4 * ($off - 1), 4));
	my $start = $blk * $blcksz + ($lp & 0x7fff);
	my $tuple = substr($pristine, $start, $lp >> 17);
	# the code: its marker (-1, -2, -4) and 32 dimensions, after its
	# varlena header; its last byte is a dimension's
	my $marker = { int8 => -1, half => -2, bit => -4 }->{$storage};
	my $at = index($tuple, pack('l<L<', $marker, 32));
	die "no code in the element" if $at < 4;
	my $last = $start + $at - 4 + (unpack('V', substr($tuple, $at - 4, 4)) >> 2) - 1;
	damage($last, chr(ord(substr($pristine, $last, 1)) ^ 0x5a));
	like($node->safe_psql('postgres', "SELECT string_agg(problem, ';') FROM hnsw_verify('c_${storage}_idx')"),
		qr/its code does not match its value/, "storage $storage: hnsw_verify reports the damaged code");
	is($node->safe_psql('postgres', qq{
			SET enable_seqscan = off;
			SELECT count(*) FROM (SELECT id FROM c_$storage
				  ORDER BY v <-> (SELECT v FROM c_$storage WHERE id = 1) LIMIT 20) c}), '20',
		"storage $storage: a scan still runs");
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "storage $storage: the server is still up");
	restore();
}

my $log = slurp_file($node->logfile);
unlike($log, qr/was terminated by signal/, 'no backend crashed');

done_testing();
