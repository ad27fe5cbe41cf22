# SPDX-License-Identifier: MIT
# libhugeslab-uring: io_uring buffer sets on huge pages (lib/uring/), its
# examples (uring_echo, uring_echo_load, uring_copy), and how its tests
# link. A library of its own, so libhugeslab does not depend on liburing:
# static and shared (SONAME libhugeslab-uring.so.1, its own version map),
# linking libhugeslab and liburing; header <hugeslab/uring.h>, pkg-config
# hugeslab-uring. Included from the top Makefile after lib/lib.mk and
# before the examples and selftests.

URING_SRCS	:= $(wildcard lib/uring/*.c)
URING_OBJS	:= $(URING_SRCS:lib/uring/%.c=$(BUILD)/lib/uring/%.o)
URING_SOBJS	:= $(URING_SRCS:lib/uring/%.c=$(BUILD)/lib/uring/%.os)
URING_A		:= $(BUILD)/lib/libhugeslab-uring.a
URING_SO	:= $(BUILD)/lib/libhugeslab-uring.so
URING_SONAME	:= $(URING_SO).$(VERSION_MAJOR)
URING_SO_REAL	:= $(URING_SO).$(VERSION)
URING_PC	:= $(BUILD)/lib/pkgconfig/hugeslab-uring.pc
URING_HDRS	:= include/hugeslab/uring.h include/hugeslab.h lib/uring/uring.h
URING_CFLAGS	:= $(HS_CFLAGS) -fvisibility=hidden -Ilib/uring

all: $(URING_A) $(URING_SO) $(URING_PC)

$(BUILD)/lib/uring/%.o: lib/uring/%.c $(URING_HDRS)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(URING_CFLAGS) -c -o $@ $<

$(BUILD)/lib/uring/%.os: lib/uring/%.c $(URING_HDRS)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(URING_CFLAGS) -fPIC -c -o $@ $<

$(URING_A): $(URING_OBJS)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# -z defs: every symbol comes from libhugeslab, liburing or libc.
$(URING_SO_REAL): $(URING_SOBJS) lib/uring/hugeslab-uring.map $(LIB_SO)
	$(quiet) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $(URING_SONAME)) \
		-Wl,--version-script=lib/uring/hugeslab-uring.map -Wl,-z,defs \
		$(HS_LDFLAGS) -o $@ $(URING_SOBJS) -L$(BUILD)/lib -lhugeslab -luring

$(URING_SONAME): $(URING_SO_REAL)
	$(Q)ln -sf $(notdir $<) $@

$(URING_SO): $(URING_SONAME)
	$(Q)ln -sf $(notdir $<) $@

$(URING_PC): lib/uring/hugeslab-uring.pc.in
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(CURDIR)/$(BUILD)/lib|' \
		-e 's|@INCLUDEDIR@|$(CURDIR)/include|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# ---- examples -----------------------------------------------------------------

# Linked as a user's program would: the shared libraries, run path into
# the build tree. examples/examples.mk leaves uring_*.c to these rules.
# libhugeslab is needed explicitly even where the program calls none of
# it directly: the run path (DT_RUNPATH) only finds the program's own
# dependencies, not libhugeslab-uring's.
URING_EX_SRCS	:= $(wildcard examples/uring_*.c)
URING_EX_BINS	:= $(URING_EX_SRCS:examples/%.c=$(BUILD)/examples/%)

all: $(URING_EX_BINS)

$(BUILD)/examples/uring_%: examples/uring_%.c\
		$(URING_HDRS) $(URING_SO) $(LIB_SO)
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -o $@ $< -L$(BUILD)/lib -lhugeslab-uring \
		-Wl,--no-as-needed -lhugeslab -Wl,--as-needed -luring \
		-Wl,-rpath,$(CURDIR)/$(BUILD)/lib $(HS_LDFLAGS)

# ---- selftests ------------------------------------------------------------------

# selftests/uring (host and VM) and selftests/uring_kmod (VM, the module)
# link this library's archive before libhugeslab's; uring runs the example
# programs, so a sanitizer build of the tests builds them as well.
ST_EXTRA_LIB_GROUPS	+= uring uring_kmod
ST_EXTRA_LIBS_uring	:= $(URING_A)
ST_EXTRA_LIBS_uring_kmod := $(URING_A)
ST_EXTRA_DEPS_uring	:= $(URING_A) $(URING_EX_BINS)
ST_EXTRA_DEPS_uring_kmod := $(URING_A)

# ---- install ----------------------------------------------------------------------

.PHONY: install-uring
install: install-uring
install-uring: $(URING_A) $(URING_SO) all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/hugeslab \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(URING_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(URING_SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(URING_SO_REAL)) $(DESTDIR)$(LIBDIR)/$(notdir $(URING_SONAME))
	ln -sf $(notdir $(URING_SONAME)) $(DESTDIR)$(LIBDIR)/$(notdir $(URING_SO))
	install -m 644 include/hugeslab/uring.h $(DESTDIR)$(INCLUDEDIR)/hugeslab/uring.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		lib/uring/hugeslab-uring.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/hugeslab-uring.pc
