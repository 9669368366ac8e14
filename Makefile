# Filestor: one plain Makefile. See README.md for the targets.

PREFIX	?= /usr/local
DESTDIR	?=
BUILD	?= build
CC	?= cc

# libpq: PostgreSQL, the second database engine (issue 18).
PKGS	 = fcgi libcrypto sqlite3 libpq libcjson libcurl zlib
# The flags are asked of pkg-config when first used, not when make reads
# this file: on a fresh machine the `deps` prerequisite installs the
# packages first, and a value computed at parse time (:=) would be empty
# for the whole run. lazy NAME,COMMAND expands NAME to COMMAND's output,
# run once, the first time NAME is expanded.
lazy = $(eval $1 = $$(eval $1 := $$$$(shell $2))$$($1))
$(call lazy,PKG_CFLAGS,pkg-config --cflags $(PKGS) 2>/dev/null)
$(call lazy,PKG_LIBS,pkg-config --libs $(PKGS) 2>/dev/null)
# libunistring (NFC normalization of keys) ships no .pc file on Debian.
$(call lazy,UNISTRING_LIBS,pkg-config --libs libunistring 2>/dev/null || echo -lunistring)
$(call lazy,CMOCKA_CFLAGS,pkg-config --cflags cmocka 2>/dev/null)
$(call lazy,CMOCKA_LIBS,pkg-config --libs cmocka 2>/dev/null)
# MagickWand only for the transform module and what links it (get and
# transform through common/sget.c, test_img): the other programs stay free of ImageMagick.
# -isystem: its headers do not pass our warnings (opencl.h).
$(call lazy,MAGICK_CFLAGS,pkg-config --cflags MagickWand 2>/dev/null | sed -E 's/(^| )-I/\1-isystem /g')
$(call lazy,MAGICK_LIBS,pkg-config --libs MagickWand 2>/dev/null)
# The scaled decoders (common/imgdec.c, issue 21): libwebp, libpng and
# libheif directly, and giflib, which ships no .pc file on Debian.
$(call lazy,DEC_CFLAGS,pkg-config --cflags libwebp libpng libheif 2>/dev/null)
$(call lazy,DEC_LIBS,pkg-config --libs libwebp libpng libheif 2>/dev/null; echo -lgif)

WARN	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 \
	   -Wmissing-prototypes -Wpointer-arith -Wno-unused-parameter
ifneq ($(CI),)
WARN	+= -Werror
endif
OPT	?= -O2 -g
CFLAGS	?=
CFLAGS	+= -std=c11 -D_GNU_SOURCE -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	   -pthread $(OPT) $(WARN) -Icommon -I$(BUILD) $(PKG_CFLAGS)
LDLIBS	 = $(PKG_LIBS) $(UNISTRING_LIBS) -lm -pthread

COMMON_SRC := $(sort $(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/migrations.o
LIB	   := $(BUILD)/libcommon.a
SQL	   := $(sort $(wildcard sql/*.sql))
# The same migrations for PostgreSQL (issue 18), in step with SQL.
PG_SQL	   := $(sort $(wildcard sql/pg/*.sql))

CGI_SRC	:= $(sort $(wildcard cgi-bin/*.c))
CGI_BIN	:= $(CGI_SRC:cgi-bin/%.c=$(BUILD)/cgi-bin/%)
TOOLS	:= $(BUILD)/filestorctl
# The worker supervisor spawn-fcgi/start runs (tools/filestor-pool.c).
POOL	:= $(BUILD)/filestor-pool
# filestor-agent (agent/): libmicrohttpd serves, libcurl enrolls.
AGENT_SRC := $(sort $(wildcard agent/*.c))
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o)
AGENT_BIN := $(BUILD)/filestor-agent
$(call lazy,AGENT_CFLAGS,pkg-config --cflags libmicrohttpd libcurl 2>/dev/null)
$(call lazy,AGENT_LIBS,pkg-config --libs libmicrohttpd libcurl 2>/dev/null)
# filestor-relay (relayd/, docs/relay.md): the agents' WebSockets, on
# libwebsockets; the agent's side of that connection links it too.
RELAY_SRC := $(sort $(wildcard relayd/*.c))
RELAY_OBJ := $(RELAY_SRC:%.c=$(BUILD)/%.o)
RELAY_BIN := $(BUILD)/filestor-relay
$(call lazy,LWS_CFLAGS,pkg-config --cflags libwebsockets 2>/dev/null)
$(call lazy,LWS_LIBS,pkg-config --libs libwebsockets 2>/dev/null)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps deps-run deps-test deps-bench test unit integration run \
	asan lint install clean bench fuzz fuzz-build fuzz-harnesses

all: deps $(LIB) $(CGI_BIN) $(TOOLS) $(POOL) $(AGENT_BIN) $(RELAY_BIN) \
     $(BUILD)/fake-cloudflared $(BUILD)/www/index.html

# Install missing Debian packages (tools/install-deps checks first), once
# per make, before anything is compiled (every compile and link waits for
# it, also under -j). The goals on the command line say which groups.
DEPS_GROUPS := build
ifneq ($(filter run,$(MAKECMDGOALS)),)
DEPS_GROUPS += run
endif
ifneq ($(filter test unit integration asan fuzz fuzz-build,$(MAKECMDGOALS)),)
DEPS_GROUPS += test
endif
ifneq ($(filter bench,$(MAKECMDGOALS)),)
DEPS_GROUPS += bench
endif
# INSTALL_DEPS: tests/deps-order.sh puts a stand-in here.
INSTALL_DEPS ?= tools/install-deps
deps:
	@$(INSTALL_DEPS) $(DEPS_GROUPS)
deps-run:
	@$(INSTALL_DEPS) run
deps-test:
	@$(INSTALL_DEPS) test
deps-bench:
	@$(INSTALL_DEPS) bench

$(BUILD)/%.o: %.c $(wildcard common/*.h) | $(BUILD)/migrations.c deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/migrations.c: $(SQL) $(PG_SQL) tools/embed-sql | deps
	@mkdir -p $(BUILD)
	tools/embed-sql $(SQL) --pg $(PG_SQL) > $@.tmp && mv $@.tmp $@

$(BUILD)/migrations.o: $(BUILD)/migrations.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/cgi-bin/%: $(BUILD)/cgi-bin/%.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Where get finds policy.xml when MAGICK_CONFIGURE_PATH is unset.
POLICY_DIR ?= $(CURDIR)/etc/imagemagick
$(BUILD)/common/img.o: private CFLAGS += $(MAGICK_CFLAGS) \
	-DIMG_POLICY_DIR='"$(POLICY_DIR)"' \
	-DIMG_POLICY_DIR_INSTALLED='"$(PREFIX)/share/filestor/imagemagick"'
$(BUILD)/common/imgdec.o: private CFLAGS += $(DEC_CFLAGS)
$(BUILD)/tests/test_img $(BUILD)/cgi-bin/transform.o: private CFLAGS += $(MAGICK_CFLAGS)
# s3 serves reads through sget, which links the transform code.
$(BUILD)/cgi-bin/get $(BUILD)/cgi-bin/transform $(BUILD)/cgi-bin/s3 \
    $(BUILD)/tests/test_img: private LDLIBS += \
	$(MAGICK_LIBS) $(DEC_LIBS)

$(BUILD)/filestorctl: $(BUILD)/tools/filestorctl.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(POOL): $(BUILD)/tools/filestor-pool.o
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/agent/%.o: agent/%.c $(wildcard agent/*.h) $(wildcard common/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iagent $(AGENT_CFLAGS) $(LWS_CFLAGS) -c -o $@ $<

$(AGENT_BIN): $(AGENT_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(AGENT_OBJ) $(LIB) $(LDLIBS) $(AGENT_LIBS) \
	    $(LWS_LIBS)

$(BUILD)/relayd/%.o: relayd/%.c relayd/relayd.h $(wildcard common/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Irelayd $(LWS_CFLAGS) -c -o $@ $<

$(RELAY_BIN): $(RELAY_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(RELAY_OBJ) $(LIB) $(LDLIBS) $(LWS_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDLIBS) $(CMOCKA_LIBS)

# The agent's path check below its roots (agent/serve.c) on its own.
# (with the agent's other modules, all but main.o).
AGENT_MOD := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJ))
# test_wsconn: the relay connection's backoff (agent/wsconn.c), likewise.
$(BUILD)/tests/test_serve $(BUILD)/tests/test_wsconn: $(BUILD)/tests/%: \
    tests/unit/%.c $(AGENT_MOD) $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -Iagent -o $@ $< \
	    $(AGENT_MOD) $(LIB) $(LDLIBS) $(AGENT_LIBS) $(LWS_LIBS) $(CMOCKA_LIBS)

# Test-only stand-in for cloudflared (tests/t07-tunnel.sh); never installed.
# The web app (www/): copied with its assets under a content hash, which
# the servers serve with long-lived caching (tools/build-www).
WWW_SRC := $(shell find www -type f ! -name '.*' 2>/dev/null)
$(BUILD)/www/index.html: $(WWW_SRC) tools/build-www
	tools/build-www www $(BUILD)/www

$(BUILD)/fake-cloudflared: tests/fake-cloudflared.c | deps
	$(CC) $(CFLAGS) -Wno-format-truncation $(AGENT_CFLAGS) -o $@ $< $(PKG_LIBS) $(AGENT_LIBS)

# Test-only fault injection (tests/enospc.c); never installed.
$(BUILD)/tests/enospc.so: tests/enospc.c | deps
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -o $@ $< -ldl

# make test: unit tests (cmocka) then the integration suite through a real
# lighttpd and again through a private Apache with mod_fcgid; tests/all
# prints the one closing "N passed, N failed" line, counting all three.
test: deps all $(UNIT_BIN) $(BUILD)/tests/enospc.so fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) tests/all $(BUILD)

unit: deps all $(UNIT_BIN)
	@tests/all --unit-only $(BUILD)

# SERVER=lighttpd (default) or apache: which web server integration and
# run use.
SERVER	?= lighttpd
integration: deps all $(BUILD)/tests/enospc.so
	@SERVER=$(SERVER) tests/run $(BUILD)

run: deps all
	@SERVER=$(SERVER) tools/run $(BUILD)

$(BUILD)/bench/noop: bench/noop.c $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench: deps all $(BUILD)/bench/noop
	@bench/run $(BUILD)

# ASan + UBSan build of everything, then the unit suite under it.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan \
	    OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    unit

# Fuzzing: one libFuzzer harness per parser (fuzz/<name>.c), its seeds
# in fuzz/corpus/<name>/. A recursive make builds the whole library and
# the harnesses with clang, ASan, UBSan and libFuzzer's coverage into
# FUZZ_BUILD. make test replays every committed seed once (tests/all);
# make fuzz runs each harness for FUZZ_SECONDS (fuzz/run), or only the
# ones FUZZ_NAMES names ("key range").
FUZZ_BUILD	?= build-fuzz
FUZZ_SECONDS	?= 60
FUZZ_NAMES	?=
FUZZ_SRC	:= $(sort $(wildcard fuzz/*.c))
FUZZ_BIN	:= $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OPT	 = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link \
	-fsanitize=address,undefined -fno-sanitize-recover=all

fuzz-build: deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	    OPT="$(FUZZ_OPT)" fuzz-harnesses

fuzz-harnesses: $(FUZZ_BIN)

$(BUILD)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h) $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Ifuzz -o $@ $< $(LIB) $(LDLIBS) \
	    $(MAGICK_LIBS) $(DEC_LIBS)

fuzz: fuzz-build
	@fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

lint: deps
	@$(INSTALL_DEPS) lint
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --std=c11 --inline-suppr -Icommon common cgi-bin tools
	@if command -v clang-tidy >/dev/null; then \
	    clang-tidy --quiet $(COMMON_SRC) $(CGI_SRC) tools/filestorctl.c -- \
	    $(CFLAGS) $(MAGICK_CFLAGS) 2>/dev/null | grep -E 'warning|error' && exit 1 || true; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/filestor \
	    $(DESTDIR)$(PREFIX)/share/filestor/sql $(DESTDIR)$(PREFIX)/share/filestor/spawn-fcgi
	install -m 0755 $(TOOLS) $(POOL) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(CGI_BIN) $(DESTDIR)$(PREFIX)/libexec/filestor/
	install -m 0644 $(SQL) $(DESTDIR)$(PREFIX)/share/filestor/sql/
	install -m 0644 lighttpd.conf $(DESTDIR)$(PREFIX)/share/filestor/
	rm -rf $(DESTDIR)$(PREFIX)/share/filestor/www
	cp -R $(BUILD)/www $(DESTDIR)$(PREFIX)/share/filestor/www
	install -d $(DESTDIR)$(PREFIX)/share/filestor/apache
	install -m 0644 apache/filestor.conf $(DESTDIR)$(PREFIX)/share/filestor/apache/
	install -d $(DESTDIR)$(PREFIX)/share/filestor/imagemagick
	install -m 0644 etc/imagemagick/policy.xml $(DESTDIR)$(PREFIX)/share/filestor/imagemagick/
	install -m 0755 spawn-fcgi/start spawn-fcgi/stop $(DESTDIR)$(PREFIX)/share/filestor/spawn-fcgi/
	install -d $(DESTDIR)$(PREFIX)/share/filestor/logrotate.d
	install -m 0644 etc/logrotate.d/filestor $(DESTDIR)$(PREFIX)/share/filestor/logrotate.d/
	install -m 0755 $(AGENT_BIN) $(RELAY_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/user
	sed 's|@BINDIR@|$(PREFIX)/bin|g' agent/filestor-agent.service \
	    >$(DESTDIR)$(PREFIX)/lib/systemd/user/filestor-agent.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/user/filestor-agent.service
	systemd/install-units $(DESTDIR)$(PREFIX)/lib/systemd/system $(PREFIX) \
	    $(notdir $(CGI_BIN))
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/filestor-agent.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/filestorctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-asan build-fuzz

.SECONDARY:
