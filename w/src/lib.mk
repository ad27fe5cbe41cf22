# SPDX-License-Identifier: MIT
# libhugeslab: static and shared library from the same sources (.o and PIC
# .os), a SONAME, a symbol version map, and hidden visibility by default.

LIB_SRCS	:= $(filter-out lib/malloc.c,$(wildcard lib/*.c))
LIB_OBJS	:= $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
LIB_SOBJS	:= $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.os)
LIB_A		:= $(BUILD)/lib/libhugeslab.a
LIB_SO		:= $(BUILD)/lib/libhugeslab.so
LIB_SONAME	:= $(LIB_SO).$(VERSION_MAJOR)
LIB_SO_REAL	:= $(LIB_SO).$(VERSION)
LIB_PC		:= $(BUILD)/lib/pkgconfig/hugeslab.pc
LIB_CFLAGS	:= $(HS_CFLAGS) -fvisibility=hidden -Ilib \
		   -DHS_VERSION_STRING='"$(VERSION)"'
# make VALGRIND=1: tell memcheck about pool objects (lib/debug.h).
ifeq ($(VALGRIND),1)
LIB_CFLAGS	+= -DHS_VALGRIND
endif
# Internal invariants (HS_ASSERT) in checker builds and with DEBUG=1.
ifneq ($(SANITIZE)$(filter 1,$(VALGRIND) $(DEBUG)),)
LIB_CFLAGS	+= -DHS_DEBUG
endif

# The malloc drop-in: the same objects and malloc.c, exporting only the
# malloc family (lib/malloc.map), so libhugeslab.so never replaces malloc.
MALLOC_SO	:= $(BUILD)/lib/libhugeslab-malloc.so

all: $(LIB_A) $(LIB_SO) $(LIB_PC) $(MALLOC_SO)

# -fno-builtin: gcc would turn calloc's malloc+memset into a call to
# calloc, which is this very function.
$(BUILD)/lib/malloc.os: LIB_CFLAGS += -fno-builtin

$(MALLOC_SO): $(LIB_SOBJS) $(BUILD)/lib/malloc.os lib/malloc.map
	$(quiet) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $@) \
		-Wl,--version-script=lib/malloc.map -Wl,-z,defs \
		$(HS_LDFLAGS) -o $@ $(LIB_SOBJS) $(BUILD)/lib/malloc.os

$(BUILD)/lib/%.o: lib/%.c lib/*.h include/hugeslab.h include/uapi/hugeslab.h
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/lib/%.os: lib/%.c lib/*.h include/hugeslab.h include/uapi/hugeslab.h
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LIB_CFLAGS) -fPIC -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO_REAL): $(LIB_SOBJS) lib/hugeslab.map
	$(quiet) LD $@
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $(LIB_SONAME)) \
		-Wl,--version-script=lib/hugeslab.map -Wl,-z,defs \
		$(HS_LDFLAGS) -o $@ $(LIB_SOBJS)

$(LIB_SONAME): $(LIB_SO_REAL)
	$(Q)ln -sf $(notdir $<) $@

$(LIB_SO): $(LIB_SONAME)
	$(Q)ln -sf $(notdir $<) $@

# An uninstalled .pc for building against the tree; make install writes the real one.
$(LIB_PC): lib/hugeslab.pc.in
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(CURDIR)|' -e 's|@LIBDIR@|$(CURDIR)/$(BUILD)/lib|' \
		-e 's|@INCLUDEDIR@|$(CURDIR)/include|' -e 's|@VERSION@|$(VERSION)|' $< > $@
