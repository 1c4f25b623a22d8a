# Makefile for the hnsw extension (PGXS)

MODULE_big = hnsw
EXTENSION = hnsw
# sql/hnsw--VERSION.sql and sql/hnsw--FROM--TO.sql are the install and
# upgrade scripts; sql/hnsw_*.sql are the regression tests (REGRESS below)
DATA = $(wildcard sql/hnsw--*.sql)
PGFILEDESC = "hnsw - HNSW index access method"

OBJS = \
	src/areawrite.o \
	src/buffers.o \
	src/build.o \
	src/buildgraph.o \
	src/cost.o \
	src/directory.o \
	src/diskgraph.o \
	src/distance.o \
	src/explain.o \
	src/filter.o \
	src/health.o \
	src/graph.o \
	src/hnsw.o \
	src/insert.o \
	src/inspect.o \
	src/kernels.o \
	src/kernels_avx2.o \
	src/kernels_avx512.o \
	src/kernels_scalar.o \
	src/layout.o \
	src/links.o \
	src/more_distances.o \
	src/operators.o \
	src/page.o \
	src/quantize.o \
	src/reconnect.o \
	src/rowdistances.o \
	src/sample.o \
	src/scan.o \
	src/vacuum.o \
	src/validate.o \
	src/verify.o

HEADERS = src/hnsw.h src/hnsw_page.h

REGRESS = hnsw_types hnsw_index hnsw_kernels hnsw_recall hnsw_vacuum hnsw_distances hnsw_large hnsw_iterative hnsw_options hnsw_filter hnsw_covering hnsw_layout hnsw_links hnsw_monitor hnsw_explain hnsw_storage hnsw_bitcodes hnsw_float8codes hnsw_toast
REGRESS_OPTS = --inputdir=. --load-extension=hnsw

# Isolation specs (test/specs, expected output in test/expected): inserts,
# VACUUM and scans interleaved at the pause points of hnsw.debug_pause
ISOLATION = insert_vacuum_repair vacuum_entry_point concurrent_list_rewrite \
	scan_vacuum cic_inserts
ISOLATION_OPTS = --inputdir=test --load-extension=hnsw

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): src/hnsw.h src/hnsw_page.h src/compat.h src/kernels.h src/buildarea.h

# Most tests turn sequential scans off to be sure of their plans, and the
# cost that adds makes every plan look worth compiling with JIT, which took
# about 100 ms a statement (hnsw_filter: 150 s with JIT, 11 s without)
installcheck: export PGOPTIONS += -c jit=off

# Debug build with assertions: make DEBUG=1
ifdef DEBUG
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING -O0 -g
endif

# Stand-alone kernel check, run under valgrind by test/run.sh
KERNEL_SRCS = src/kernels_scalar.c src/kernels_avx2.c src/kernels_avx512.c
test/kernels_check: test/kernels_check.c $(KERNEL_SRCS) src/kernels.h
	$(CC) $(CFLAGS) -O1 -g -I$(srcdir)/src -I$(includedir_server) -I$(includedir_internal) \
		-o $@ test/kernels_check.c $(KERNEL_SRCS) -L$(pkglibdir) -lpgport -lm

EXTRA_CLEAN = test/kernels_check

# pgindent style (test/indent.sh builds PostgreSQL's pgindent once);
# "make indent-check" changes nothing and fails if a file is off
.PHONY: indent indent-check
indent:
	bash test/indent.sh
indent-check:
	bash test/indent.sh --check
