# SPDX-License-Identifier: MIT
# Examples link the shared library as a user's program would; the run path
# lets them run from the build tree without installing.

# uring_*.c link libhugeslab-uring and liburing too: lib/uring/uring.mk.
EX_SRCS	:= $(filter-out examples/uring_%.c,$(wildcard examples/*.c))
EX_BINS	:= $(EX_SRCS:examples/%.c=$(BUILD)/examples/%)

all: $(EX_BINS)

$(BUILD)/examples/%: examples/%.c include/hugeslab.h $(LIB_SO)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $< -L$(BUILD)/lib -lhugeslab \
		-Wl,-rpath,$(CURDIR)/$(BUILD)/lib $(HS_LDFLAGS)
