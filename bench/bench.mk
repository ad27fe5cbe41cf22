# SPDX-License-Identifier: MIT
# bench: hugeslab pools against glibc, jemalloc, mimalloc and tcmalloc.
#
#   make            builds the two programs (a second or two), so a change
#                   to the API that breaks them fails the build, not a later
#                   benchmark run; nothing is run
#   make bench      builds, then runs bench/run.sh: every workload, every
#                   allocator, several repetitions (5-8 minutes);
#                   writes $(BUILD)/bench/results.txt and results.svg
#
# BENCH_ARGS is passed to bench/run.sh (e.g. BENCH_ARGS="--reps 3" or
# "--quick" for a smoke run); see bench/README.md.
#
# hsbench links the shared library, as a user's program would (a call
# through the PLT, as malloc is); peers come in through LD_PRELOAD.

BENCH_SRCS	:= $(filter-out bench/report.c bench/scale.c,$(wildcard bench/*.c))
BENCH_BIN	:= $(BUILD)/bench/hsbench
BENCH_REPORT	:= $(BUILD)/bench/hsbench-report
BENCH_SCALE	:= $(BUILD)/bench/hsbench-scale

.PHONY: bench bench-build
all: bench-build
bench-build: $(BENCH_BIN) $(BENCH_REPORT) $(BENCH_SCALE)

# The heap against the peers (bench/heap/run.sh, make bench-heap).
BENCH_HEAP	:= $(BUILD)/bench/hsbench-heap
BENCH_MEASURE	:= $(BUILD)/bench/hsbench-measure
bench-build: $(BENCH_HEAP) $(BENCH_MEASURE)
$(BUILD)/bench/hsbench-heap: bench/heap/workloads.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -fno-builtin-malloc -fno-builtin-free -o $@ $< $(HS_LDFLAGS)
$(BUILD)/bench/hsbench-measure: bench/heap/measure.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $< $(HS_LDFLAGS)

.PHONY: bench-heap
bench-heap: bench-build all
	$(Q)bench/heap/run.sh --out $(BUILD)/bench/heap $(BENCH_HEAP_ARGS)

# Slow paths against threads and slabs (bench/README.md, "Scaling").
$(BENCH_SCALE): bench/scale.c include/hugeslab.h $(LIB_SO)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $< -L$(BUILD)/lib -lhugeslab \
		-Wl,-rpath,$(CURDIR)/$(BUILD)/lib $(HS_LDFLAGS)

$(BENCH_BIN): $(BENCH_SRCS) bench/bench.h include/hugeslab.h $(LIB_SO)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $(BENCH_SRCS) -L$(BUILD)/lib -lhugeslab \
		-Wl,-rpath,$(CURDIR)/$(BUILD)/lib $(HS_LDFLAGS)

$(BENCH_REPORT): bench/report.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $< $(HS_LDFLAGS) -lm

bench: bench-build
	$(Q)bench/run.sh --bin $(BENCH_BIN) --report $(BENCH_REPORT) \
		--out $(BUILD)/bench $(BENCH_ARGS)
