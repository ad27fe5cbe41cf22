# SPDX-License-Identifier: MIT
#
# hugeslab top-level Makefile. Everything builds under build/.
#
#   make              library, hsstat, examples, host selftests
#   make module       hugeslab.ko for the running kernel (KDIR=... to override)
#   make demo         the end-to-end demo in a VM (installs what is missing)
#   make check        every test: host, then the module on Debian 6.1 and 6.12
#   make lint         checkpatch --strict, sparse (W=1) and coccicheck over the module
#   make check-debug  the module's VM tests on a KASAN/lockdep/kmemleak 6.12 kernel
#   make bench-uring  io_uring buffers on huge pages, measured (bench/uring/)
#   make fuzz         the fuzzer on that kernel: a million operations (hours)
#   make install      PREFIX=/usr/local DESTDIR=
#
# V=1 shows full commands.

ifeq ($(KERNELRELEASE),)

SHELL		:= /bin/bash
BUILD		?= build
PREFIX		?= /usr/local
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
KDIR		?= /lib/modules/$(shell uname -r)/build

VERSION_MAJOR	:= 1
VERSION_MINOR	:= 1
VERSION_PATCH	:= 0
VERSION		:= $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

CC		?= cc
ifeq ($(origin CC),default)
CC		:= gcc
endif
WERROR		?= 0
OPT		?= -O2
CFLAGS		?= $(OPT) -g
HS_WARN		:= -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
		   -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
HS_WARN		+= -Werror
endif
HS_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -pthread $(HS_WARN) -Iinclude \
		   $(SANITIZE) $(CFLAGS)
HS_LDFLAGS	:= -pthread $(SANITIZE) $(LDFLAGS)

ifeq ($(V),1)
Q :=
quiet = @:
else
Q := @
quiet = @printf '  %-8s %s\n'
endif

.DEFAULT_GOAL := all
.PHONY: all clean install module module-clean demo check check-host \
	check-vm check-debug deps lint fuzz

all:

include lib/lib.mk
include lib/uring/uring.mk
include tools/hsstat/hsstat.mk
include examples/examples.mk
include bench/bench.mk
include bench/uring/bench-uring.mk
include selftests/selftests.mk

# ---- the kernel module ------------------------------------------------------

# For the running kernel (or KDIR): builds kmod/hugeslab.ko in place.
module:
	$(Q)tools/vm/kernel check $(KDIR)
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

module-clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

# For a kernel dir from tools/vm/kernel: build/kmod/<abi>/kmod/hugeslab.ko.
# Sources are copied so several kernels can be built side by side.
KMOD_SRCS := Kbuild $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild include/uapi/hugeslab.h
$(BUILD)/kmod/%/kmod/hugeslab.ko: $(KMOD_SRCS)
	$(quiet) KMOD $*
	$(Q)tools/vm/kernel check $(HS_KCACHE)/$*/build
	$(Q)rm -rf $(BUILD)/kmod/$* && mkdir -p $(BUILD)/kmod/$*/include
	$(Q)cp -r Kbuild kmod $(BUILD)/kmod/$*/ && cp -r include/uapi $(BUILD)/kmod/$*/include/
	$(Q)rm -f $(BUILD)/kmod/$*/kmod/*.o $(BUILD)/kmod/$*/kmod/*.ko
	$(Q)$(MAKE) -s -C $(HS_KCACHE)/$*/build M=$(CURDIR)/$(BUILD)/kmod/$* \
		W=1 $(if $(filter 1,$(WERROR)),KCFLAGS=-Werror) modules

HS_KCACHE := $(or $(HUGESLAB_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hugeslab)/kernels

# ---- set-up, demo, checks ---------------------------------------------------

deps:
	$(Q)scripts/install-deps

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo

check: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all
	$(Q)scripts/check

lint: deps
	$(Q)scripts/lint

# Builds (once, cached) a debug kernel from linux-source-6.12: see
# tools/vm/debug-kernel and tools/vm/debug.config.
check-debug: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all
	$(Q)scripts/check-debug

# The fuzzer alone on the debug kernel: HS_FUZZ_OPS (1000000) within
# HS_FUZZ_SECONDS; see scripts/fuzz.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all
	$(Q)scripts/fuzz

clean:
	rm -rf $(BUILD)

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO_REAL) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(MALLOC_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO_REAL)) $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SONAME))
	ln -sf $(notdir $(LIB_SONAME)) $(DESTDIR)$(LIBDIR)/$(notdir $(LIB_SO))
	install -m 644 include/hugeslab.h $(DESTDIR)$(INCLUDEDIR)/hugeslab.h
	install -m 644 include/uapi/hugeslab.h $(DESTDIR)$(INCLUDEDIR)/linux/hugeslab.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		lib/hugeslab.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/hugeslab.pc
	install -m 755 $(HSSTAT) $(DESTDIR)$(BINDIR)/hsstat

# The module's pages (section 4); a tool's section 1 page is installed by
# its own .mk (tools/hsstat/hsstat.mk: hsstat.1).
.PHONY: install-man
install: install-man
install-man:
	install -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man4 \
		$(DESTDIR)$(MANDIR)/man7
	install -m 644 $(wildcard man/*.3) $(DESTDIR)$(MANDIR)/man3/
	install -m 644 $(wildcard man/*.4) $(DESTDIR)$(MANDIR)/man4/
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7/

endif
