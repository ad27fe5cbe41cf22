# SPDX-License-Identifier: MIT
# bench/uring: io_uring buffers on huge pages against 4 KiB and THP memory
# (registration), unregistered buffers (O_DIRECT reads) and malloc'd
# buffers in the echo server. See bench/uring/README.md.
#
#   make              builds hsbench-uring (so an API change that breaks
#                     it fails the build); nothing is run
#   make bench-uring  builds, then runs bench/uring/run.sh (about 4
#                     minutes); writes $(BUILD)/bench-uring/results.txt
#                     and results.svg
#
# BENCH_URING_ARGS is passed to run.sh (e.g. "--quick").

BENCH_URING_BIN	:= $(BUILD)/bench/hsbench-uring

.PHONY: bench-uring
all: $(BENCH_URING_BIN)

$(BENCH_URING_BIN): bench/uring/hsbench_uring.c include/hugeslab/uring.h \
		include/hugeslab.h $(URING_SO) $(LIB_SO)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $< -L$(BUILD)/lib -lhugeslab-uring \
		-Wl,--no-as-needed -lhugeslab -Wl,--as-needed -luring \
		-Wl,-rpath,$(CURDIR)/$(BUILD)/lib $(HS_LDFLAGS)

bench-uring: $(BENCH_URING_BIN) $(URING_EX_BINS)
	$(Q)bench/uring/run.sh --bin $(BENCH_URING_BIN) \
		--examples $(BUILD)/examples --out $(BUILD)/bench-uring \
		$(BENCH_URING_ARGS)
