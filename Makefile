# accent — build, test, install.
#
# One core library (lib/ -> $(BUILD)/libaccent.a) and thin binaries: every
# directory holding a main.c (prep/, align/, train/, db/, tools/*) becomes
# bin/<dirname>.  Tests are tests/test_*.c, one executable each, run by
# tests/run.sh, which prints the final "N passed, N failed" line.
#
# BUILD selects the object directory so that several builds (asan, parallel
# developers) never share objects: `make BUILD=build-asan ...`.

VERSION  := 0.1.0
BUILD    ?= build
BINDIR   ?= bin
PREFIX   ?= /usr/local
CC       ?= cc
PKGS     := libcrypto sqlite3 sndfile soxr icu-uc icu-i18n libpcre2-8 jansson espeak-ng
DNNL_LIBS ?= -ldnnl
OPT      ?= -O2 -march=x86-64-v3 -mtune=native
WARN     := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-sign-compare -Wformat=2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   ?= $(OPT) -g
# -fno-trapping-math: nothing here reads floating-point exception flags, and
# without it GCC will not if-convert the clamps of the element-wise math
# (lib/model/fastmath.h), so GELU/softmax loops stay scalar.
CFLAGS   += -std=gnu11 $(WARN) -fopenmp -fno-trapping-math -Ilib -I$(BUILD) $(PKG_CFLAGS) \
            -DACCENT_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
LDLIBS   += $(PKG_LIBS) $(DNNL_LIBS) -fopenmp -lm -lpthread
LDFLAGS  += $(EXTRA_LDFLAGS)

# lib/<module>/*.c: one folder per module of docs/ARCHITECTURE.md's table.
LIB_SRC  := $(wildcard lib/*/*.c)
LIB_OBJ  := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
LIB      := $(BUILD)/libaccent.a

BIN_DIRS := $(patsubst %/main.c,%,$(wildcard prep/main.c align/main.c train/main.c db/main.c tools/*/main.c))
BIN_NAMES := $(notdir $(BIN_DIRS))
BINS     := $(addprefix $(BINDIR)/,$(BIN_NAMES))

TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all deps test asan install clean demo bench bench-deps bench-ingest bench-synth fuzz
all: $(BINS)

# Debian packages the project builds and runs with.  Skipped when all are
# present so `make test` stays fast on a prepared machine.
DEB_PKGS := build-essential pkg-config libsqlite3-dev sqlite3 libsndfile1-dev \
            libsoxr-dev libssl-dev libicu-dev libpcre2-dev libjansson-dev libdnnl-dev \
            espeak-ng libespeak-ng-dev sox libsox-fmt-mp3 wamerican bc time
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "deps: all Debian packages present"; fi

# Header dependencies come from the compiler (-MMD -MP: one .d file beside
# each object, included below), so touching one header rebuilds only what
# includes it.
$(BUILD)/lib/%.o: lib/%.c $(BUILD)/schemas.h Makefile | $(BUILD)/lib
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# schemas/*.sql are compiled into the library (installed binaries need no
# data files to create or migrate a manifest): schemas/foo.sql -> schema_foo.
$(BUILD)/schemas.h: $(wildcard schemas/*.sql) tools/embed.sh | $(BUILD)/lib
	sh tools/embed.sh $(wildcard schemas/*.sql) > $@.tmp && mv $@.tmp $@

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lib $(BUILD)/tests $(BINDIR):
	mkdir -p $@

# A binary is every .c file of its directory, each compiled to
# $(BUILD)/obj/<dir>/<file>.o (with its .d, like the library's), linked
# with the library: a changed library relinks binaries and tests but
# recompiles only the files that include a changed header.
bin_obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c))
BIN_OBJ := $(foreach d,$(BIN_DIRS),$(call bin_obj,$(d)))
define bin_rule
$(BINDIR)/$(notdir $(1)): $(call bin_obj,$(1)) $(LIB) | $(BINDIR)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $(call bin_obj,$(1)) $(LIB) $$(LDLIBS)
endef
$(foreach d,$(BIN_DIRS),$(eval $(call bin_rule,$(d))))
$(BIN_OBJ): $(BUILD)/obj/%.o: %.c $(BUILD)/schemas.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(TESTS:=.o): $(BUILD)/tests/%.o: tests/%.c $(BUILD)/schemas.h Makefile | $(BUILD)/tests
	$(CC) $(CFLAGS) -MMD -MP -Itests -c -o $@ $<
$(TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# A benchmark driver is bench/<name>.c linked with the library (the shell
# scripts beside them run it; see mk/*.mk for each `make bench-*`).
$(BINDIR)/bench_%: bench/bench_%.c $(LIB) | $(BINDIR)
	$(CC) $(CFLAGS) -MMD -MP -MF $(BUILD)/bench_$*.d $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(BIN_OBJ:.o=.d) $(TESTS:=.d) $(wildcard $(BUILD)/bench_*.d)

test: deps
	@$(MAKE) --no-print-directory -j2 all-tests
	@BUILD=$(BUILD) BINDIR=$(BINDIR) sh tests/run.sh $(TESTS)

all-tests: $(BINS) $(TESTS)

# AddressSanitizer + UBSan build of everything, then the whole suite.  The
# pipeline test trains its base model for 60 steps instead of 1,200 (same
# code paths; its accuracy thresholds are checked by `make test`).
# (mk/ci.mk's asan-quick builds into the same directory with ASAN_VARS.)
ASAN_VARS := BUILD=build-asan BINDIR=build-asan/bin OPT="-O1" \
  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  EXTRA_LDFLAGS="-fsanitize=address,undefined"
asan:
	PIPELINE_STEPS=60 $(MAKE) $(ASAN_VARS) test

# The whole pipeline end to end on a synthesized corpus (tools/demo.sh);
# re-runnable: a second run reuses what is done.  DEMO_DIR=demo by default.
DEMO_DIR ?= demo
demo: deps
	@$(MAKE) --no-print-directory all
	@BINDIR=$(BINDIR) DEMO_DIR=$(DEMO_DIR) sh tools/demo.sh

# Benchmarks (never part of `make test`): each appends a section with the
# machine, date and the peer's figure from the same run to bench/RESULTS.md.
# bench-deps installs the PyTorch reference's packages (bench/torch_ref peer).
BENCH_DEB_PKGS := python3-torch python3-numpy libopenblas0-openmp libtcmalloc-minimal4
bench-deps:
	@SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BENCH_DEB_PKGS)
bench-ingest: all
	BINDIR=$(BINDIR) sh bench/bench_ingest.sh
bench-synth: all
	BINDIR=$(BINDIR) sh bench/bench_synth.sh
bench: deps bench-deps
	$(MAKE) all
	$(MAKE) bench-manifest bench-ingest bench-synth bench-decode bench-align bench-align-run bench-infer bench-train bench-profile bench-mem-1b bench-demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/accent/schemas $(DESTDIR)$(PREFIX)/share/doc/accent
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 schemas/* $(DESTDIR)$(PREFIX)/share/accent/schemas/
	install -d $(DESTDIR)$(PREFIX)/share/accent/rules
	install -m 644 rules/*.rules $(DESTDIR)$(PREFIX)/share/accent/rules/
	install -d $(DESTDIR)$(PREFIX)/share/accent/text
	install -m 644 data/text/*.txt $(DESTDIR)$(PREFIX)/share/accent/text/
	install -m 644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/accent/

clean:
	rm -rf build build-asan $(BINDIR)

-include mk/*.mk
