# SPDX-License-Identifier: MIT
#
# hsstat, the admin's reporting tool: $(BUILD)/tools/hsstat.
# Included by the top-level Makefile; needs only libc and the uapi header.

HSSTAT		:= $(BUILD)/tools/hsstat
HSSTAT_SRCS	:= tools/hsstat/collect.c tools/hsstat/parse.c \
		   tools/hsstat/format.c tools/hsstat/json.c \
		   tools/hsstat/prometheus.c tools/hsstat/hsstat.c
# Objects beside, not under, the binary: $(BUILD)/tools/hsstat is a file.
HSSTAT_OBJDIR	:= $(BUILD)/obj/hsstat
HSSTAT_OBJS	:= $(patsubst tools/hsstat/%.c,$(HSSTAT_OBJDIR)/%.o,$(HSSTAT_SRCS))

.PHONY: hsstat install-hsstat-man
all: $(HSSTAT)
hsstat: $(HSSTAT)

$(HSSTAT): $(HSSTAT_OBJS)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_LDFLAGS) -o $@ $^

$(HSSTAT_OBJDIR)/%.o: tools/hsstat/%.c tools/hsstat/hsstat.mk
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HS_CFLAGS) -DHSSTAT_VERSION='"$(VERSION)"' -MMD -MP \
		-c -o $@ $<

-include $(HSSTAT_OBJS:.o=.d)

# The top-level install target installs the binary; the man page is ours.
install: install-hsstat-man
install-hsstat-man:
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/hsstat.1 $(DESTDIR)$(MANDIR)/man1/hsstat.1
