# SPDX-License-Identifier: MIT
#
# selftests: kselftest-style test programs, one binary per .c file.
#
#   selftests/<group>/<name>.c  ->  $(BUILD)/selftests/<group>/<name>
#
# Groups: kmod (needs the module, runs in a VM), lib (links the library's
# static archive; only when lib/lib.mk defines LIB_A), tools. A new test is a
# new .c file in its group's directory; nothing here needs editing.
#
# The harness (kselftest_harness.h, kselftest.h) is GPL-2.0-only kernel code:
# it is not kept in this tree but extracted once at build time from Debian's
# linux-source-6.12 package into $(BUILD)/kselftest/.

KSFT_TAR	:= /usr/src/linux-source-6.12.tar.xz
KSFT_TAR_DIR	:= linux-source-6.12/tools/testing/selftests
KSFT_DIR	:= $(BUILD)/kselftest
KSFT_HDRS	:= $(KSFT_DIR)/kselftest_harness.h $(KSFT_DIR)/kselftest.h

# Two of our warnings trip on the harness's code, which we do not edit
# (upstream builds selftests with -Wall, without -Wextra):
# -Wmissing-prototypes: it defines global functions (__run_test,
#   __wait_for_test; FIXTURE_SETUP/TEARDOWN expand to <fixture>_setup and
#   _teardown) without prototypes; each test is one file, so nothing is lost.
# -Wsign-compare (from -Wextra): ASSERT_EQ(expected, seen) compares both in
#   their own types by design and prints each with its own signedness, so
#   ASSERT_EQ(0, strlen(s)), the kernel's idiom, warns inside the macro.
ST_CFLAGS	:= $(HS_CFLAGS) -I$(KSFT_DIR) -Wno-missing-prototypes \
		   -Wno-sign-compare

# Every directory of selftests/ with .c files is a group. Groups named in
# ST_LIB_GROUPS link the library's static archive; all link liburing.
#   kmod      the module's ABI and semantics (VM, "main" profile)
#   lib       the library, on any backend (host, and VM with kmod)
#   tools     hsstat (VM)
#   pools     library + module together: published pool stats (VM)
#   stress    fuzzing, fault injection, many processes (VM)
#   numa      NUMA placement and 1 GiB pages (VM, "numa" profile)
#   lockdown  what stays readable under lockdown (VM, "lockdown" profile)
#   kfault    the kernel's fault injection (fail-nth) through the module
#             (VM, debug kernel only: Debian's kernels do not have it)
#   compat    32-bit programs: built -m32 and static (the VMs have no
#             32-bit libc), without the library or liburing (VM)
#   debug     planted bugs the ASan/Valgrind builds must catch
#   malloc    the malloc drop-in, linked into each test (host and VM)
#   heap      the drop-in on the module, seen by hsstat (VM)
ST_GROUPS	:= $(sort $(patsubst selftests/%/,%,$(dir $(wildcard selftests/*/*.c))))
# Another .mk may add groups with ST_EXTRA_LIB_GROUPS, and archives (and
# other prerequisites) for a group g with ST_EXTRA_LIBS_g (ST_EXTRA_DEPS_g),
# linked before the library: lib/uring/uring.mk does.
ST_LIB_GROUPS	:= lib pools debug $(ST_EXTRA_LIB_GROUPS)
ST_32_GROUPS	:= compat
ifeq ($(LIB_A),)
ST_GROUPS	:= $(filter-out $(ST_LIB_GROUPS) malloc heap,$(ST_GROUPS))
endif
$(foreach g,$(ST_GROUPS),$(eval ST_LIBS_$(g) := $(ST_EXTRA_LIBS_$(g)) $(if $(filter $(g),$(ST_LIB_GROUPS)),$(LIB_A)) -luring))
$(foreach g,$(ST_LIB_GROUPS),$(eval ST_DEPS_$(g) := $(ST_EXTRA_DEPS_$(g)) $(LIB_A)))
# The malloc group links the drop-in itself (as a program may, instead of
# LD_PRELOAD), first, so its malloc is the process's.
ST_LIBS_malloc	:= -L$(BUILD)/lib -Wl,-rpath,$(abspath $(BUILD)/lib) \
		   -Wl,--no-as-needed -lhugeslab-malloc -Wl,--as-needed -ldl -lm
ST_DEPS_malloc	:= $(MALLOC_SO)
ST_LIBS_heap	:= $(ST_LIBS_malloc)
ST_DEPS_heap	:= $(MALLOC_SO)

ST_SRCS		:= $(foreach g,$(ST_GROUPS),$(wildcard selftests/$(g)/*.c))
ST_BINS		:= $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(ST_SRCS))
ST_RUNNER	:= $(BUILD)/selftests/run_tests.sh
# Dependency files live outside the group directories, which hold only test
# binaries (the runner is given "kmod/*").
ST_DEPDIR	:= $(BUILD)/selftests-deps

.PHONY: selftests
all: selftests
selftests: $(ST_BINS) $(ST_RUNNER)

# One fix is applied to the extracted harness, and checked to have applied.
# TEST_F's wrapper sets "pid_t child" from fork() after setjmp(); when an
# ASSERT in the forked test longjmp()s back, a register-held child reads as
# 1 again (gcc -O2 does this; -Wextra's -Wclobbered says so), so the test
# process skips the fixture's teardown and runs the parent's path instead.
# Declaring it volatile keeps it in memory.
KSFT_FIX	:= s/^\(\t*\)pid_t child = 1; \\$$/\1volatile pid_t child = 1; \\/

# Grouped target: one tar run writes both headers.
$(KSFT_HDRS) &: $(wildcard $(KSFT_TAR))
	$(quiet) KSFT $(KSFT_DIR)
	$(Q)if [ ! -r $(KSFT_TAR) ]; then \
		echo "selftests: $(KSFT_TAR) not found; the kselftest harness comes from it: apt-get install linux-source-6.12" >&2; \
		exit 1; \
	fi
	$(Q)rm -rf $(KSFT_DIR).tmp && mkdir -p $(KSFT_DIR).tmp
	$(Q)tar -xJf $(KSFT_TAR) -C $(KSFT_DIR).tmp --strip-components=4 \
		$(KSFT_TAR_DIR)/kselftest_harness.h $(KSFT_TAR_DIR)/kselftest.h
	$(Q)sed -i '$(KSFT_FIX)' $(KSFT_DIR).tmp/kselftest_harness.h
	$(Q)grep -q 'volatile pid_t child = 1;' $(KSFT_DIR).tmp/kselftest_harness.h || { \
		echo "selftests: kselftest_harness.h changed: review KSFT_FIX in selftests/selftests.mk" >&2; \
		exit 1; }
	$(Q)touch $(KSFT_DIR).tmp/*.h && rm -rf $(KSFT_DIR) && mv $(KSFT_DIR).tmp $(KSFT_DIR)

# 32-bit tests: the harness and the uapi header only, no sanitizer (they
# are the 64-bit builds' business), static.
ST32_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -pthread $(HS_WARN) -Iinclude \
		   -I$(KSFT_DIR) -Wno-missing-prototypes -Wno-sign-compare \
		   -m32 -static $(OPT) -g
ST32_NEED	:= building 32-bit tests needs gcc-multilib: apt-get install gcc-multilib (or make deps)

define ST_GROUP32_RULES
$(BUILD)/selftests/$(1)/%: selftests/$(1)/%.c $(KSFT_HDRS)
	$$(quiet) CC32 $$@
	$$(Q)mkdir -p $$(@D) $(ST_DEPDIR)/$(1)
	$$(Q)echo 'int main(void) { return 0; }' | \
		$$(CC) -m32 -static -x c -o /dev/null - 2>/dev/null || \
		{ echo "selftests: $(ST32_NEED)" >&2; exit 1; }
	$$(Q)$$(CC) $$(ST32_CFLAGS) -MMD -MP -MF $(ST_DEPDIR)/$(1)/$$*.d \
		-o $$@ $$<
endef
$(foreach g,$(filter $(ST_32_GROUPS),$(ST_GROUPS)),$(eval $(call ST_GROUP32_RULES,$(g))))

# One pattern rule per group, so each links its own libraries.
define ST_GROUP_RULES
$(BUILD)/selftests/$(1)/%: selftests/$(1)/%.c $(KSFT_HDRS) $(ST_DEPS_$(1))
	$$(quiet) CC $$@
	$$(Q)mkdir -p $$(@D) $(ST_DEPDIR)/$(1)
	$$(Q)$$(CC) $$(ST_CFLAGS) -MMD -MP -MF $(ST_DEPDIR)/$(1)/$$*.d \
		-o $$@ $$< $$(HS_LDFLAGS) $(ST_LIBS_$(1))
endef
$(foreach g,$(filter-out $(ST_32_GROUPS),$(ST_GROUPS)),$(eval $(call ST_GROUP_RULES,$(g))))

$(ST_RUNNER): selftests/run_tests.sh selftests/vm_suite.sh
	$(quiet) INSTALL $@
	$(Q)mkdir -p $(@D)
	$(Q)install -m 755 $< $@
	$(Q)install -m 755 selftests/vm_suite.sh $(@D)/vm_suite.sh

-include $(wildcard $(ST_DEPDIR)/*/*.d)

# Real programs on the malloc drop-in (selftests/programs/run.sh): the C++
# one is built here; the others are Debian's (CPython, redis, sqlite3).
ST_CXX		:= $(BUILD)/selftests/programs/cxx
selftests: $(ST_CXX)
$(ST_CXX): selftests/programs/cxx.cc
	$(quiet) CXX $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
		-pthread -o $@ $<
