# airlock — build, deps, demo, check, bench.
# `make demo` and `make check` install what is missing first (scripts/deps.sh),
# then re-enter make so pkg-config sees the freshly installed libraries.

PKGS     := sqlite3 libpq jansson yaml-0.1 libsodium libmicrohttpd libcurl
CC       ?= gcc
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CSTD     := -std=gnu11 -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lm

MODE     ?= release
# The airlock binary of a release build allocates with jemalloc: per-thread
# caches, no glibc fastbin consolidation each time a request's kilobyte
# buffers are asked for, no arena lock when the log's writer frees what the
# I/O thread allocated (bench/readpath.sh: ~5 us of a logged read's ~71;
# the ceiling's CPU does not move with it). Sanitized builds keep glibc's
# malloc, which ASan replaces; tests and benches link glibc's too.
ifeq ($(MODE),check)
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN  := -fsanitize=address,undefined
  MALLOC_LIBS :=
else
  OPT    := -O2 -g
  LDSAN  :=
  MALLOC_LIBS = $(shell pkg-config --libs jemalloc)
endif

BUILD    := build/$(MODE)
SRCS     := $(wildcard src/*.c)
# The console's page is embedded: console/* → $(BUILD)/gen/console_assets.c.
ASSETS   := $(wildcard console/*)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS)) $(BUILD)/obj/console_assets.o
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
TESTSRC  := $(wildcard tests/test_*.c)
TESTBINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TESTSRC))
BENCHSRC := $(wildcard bench/bench_*.c)
BENCHBINS:= $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCHSRC))

.PHONY: all deps demo check test bench clean format lint fuzz soak adversary-soak install uninstall
ifeq ($(MODE),release)
all: airlock
else
all: $(BUILD)/airlock
endif

# ./airlock is always the release build; sanitized builds stay under build/.
airlock: build/release/airlock
	@cp build/release/airlock airlock

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, airlock(1) and
# bash completion, both generated from the binary's own help (verb table).
# INSTALL_BIN picks another build of the binary (the e2e suite's).
PREFIX ?= /usr/local
INSTALL_BIN ?= build/release/airlock
install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/airlock
	sh scripts/gen_man.sh $(INSTALL_BIN) >$(DESTDIR)$(PREFIX)/share/man/man1/airlock.1
	sh scripts/gen_completion.sh $(INSTALL_BIN) \
		>$(DESTDIR)$(PREFIX)/share/bash-completion/completions/airlock
	chmod 644 $(DESTDIR)$(PREFIX)/share/man/man1/airlock.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/airlock

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/airlock $(DESTDIR)$(PREFIX)/share/man/man1/airlock.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/airlock

$(BUILD)/airlock: $(OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(PKG_LIBS) $(MALLOC_LIBS)
	@[ "$(MODE)" = check ] || [ -n "$(MALLOC_LIBS)" ] || \
		echo "  note: no jemalloc (make deps installs libjemalloc-dev): $@ uses glibc's malloc" >&2

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) | $(BUILD)/obj
	@echo "  CC      $<"
	@$(CC) $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/gen/console_assets.c: $(ASSETS) scripts/gen_console_assets.py
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	@python3 scripts/gen_console_assets.py $@ $(ASSETS)

$(BUILD)/obj/console_assets.o: $(BUILD)/gen/console_assets.c src/console_assets.h | $(BUILD)/obj
	@echo "  CC      $<"
	@$(CC) $(CSTD) $(WARN) $(OPT) -Isrc -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(LIBOBJS) | $(BUILD)/tests
	@echo "  TEST    $@"
	@$(CC) $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -Isrc -Itests -o $@ $< $(LIBOBJS) $(LDSAN) $(PKG_LIBS) -lcmocka $(TEST_LDFLAGS)

# test_faults counts airlock's own allocations: the linker sends its calls
# to malloc & co. (and time, to pin it) to the test's __wrap_ functions
$(BUILD)/tests/test_faults: TEST_LDFLAGS := \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,--wrap=time

$(BUILD)/bench/%: bench/%.c $(LIBOBJS) | $(BUILD)/bench
	@echo "  BENCH   $@"
	@$(CC) $(CSTD) $(WARN) -O2 -g $(PKG_CFLAGS) -Isrc -o $@ $< $(LIBOBJS) $(LDSAN) $(PKG_LIBS)

# the load generator stands alone (no airlock code): the e2e suites use it too
$(BUILD)/bench/bench_mcp_load: bench/bench_mcp_load.c | $(BUILD)/bench
	@echo "  BENCH   $@"
	@$(CC) $(CSTD) $(WARN) -O2 -g -o $@ $<

# the hostile client of tests/e2e/hostile_load.sh stands alone too
$(BUILD)/tests/attack: tests/attack.c | $(BUILD)/tests
	@echo "  TEST    $@"
	@$(CC) $(CSTD) $(WARN) -O2 -g -o $@ $< -lpthread

$(BUILD)/obj $(BUILD)/tests $(BUILD)/bench:
	@mkdir -p $@

deps:
	@sh scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory airlock
	@sh scripts/demo.sh

# The test build: sanitizers on, every unit test binary, then the end-to-end
# suites driving the sanitized binary. tests/run prints the closing line.
# bench_mcp_load is also the e2e suites' load generator (mcp_load.sh)
# and tests/attack the hostile client of hostile_load.sh
test: $(BUILD)/airlock $(TESTBINS) $(BUILD)/bench/bench_mcp_load $(BUILD)/tests/attack
	@sh scripts/banned.sh
	@sh scripts/snprintf.sh
	@sh scripts/owners.sh
	@MODE=$(MODE) BUILD=$(BUILD) sh tests/run

# built on every core (one at a time, the sanitized build was 2 of the
# 22 minutes on a 2-core machine); the suites then run TEST_JOBS at a time
check: deps
	@sh scripts/npm-deps.sh
	@$(MAKE) --no-print-directory -j$$(nproc 2>/dev/null || echo 1) MODE=check test

bench: deps
	@$(MAKE) --no-print-directory MODE=release airlock $(patsubst bench/%.c,build/release/bench/%,$(BENCHSRC))
	@sh bench/run

# libFuzzer harnesses (clang -fsanitize=fuzzer,address,undefined), one per
# parser an outsider reaches: mcp (JSON-RPC), http (request head, console
# and MCP routes over loopback), csv (reader/writer, import/export round
# trip), policy (YAML), scope (filter language, round-trip property), smtp
# (addresses, header and body encoding). Each harness is fuzz/fuzz_NAME.c
# over fuzz/fuzz_NAME_harness.h; seeds in fuzz/corpus/NAME, new inputs in
# build/fuzz/corpus-NAME, crashers kept in fuzz/regress/NAME (replayed by
# tests/test_fuzz.c in make check).
# make fuzz: every harness FUZZ_TIME seconds (per harness, default 60), one
# after the other; FUZZ_TARGETS="scope csv" picks some. make fuzz-soak (and
# make soak): every harness until it has run FUZZ_SOAK_RUNS inputs (default
# 10,000,000), its time projected from a measured rate first (see
# scripts/fuzz.sh and the rates in bench/README.md); the executions per
# harness are printed at the end. FUZZ_SOAK_TIME=S instead runs each for S
# seconds, as before.
FUZZ_TIME ?= 60
FUZZ_SOAK_RUNS ?= 10000000
FUZZ_TARGETS ?= mcp http csv policy scope smtp
FUZZ_SRCS := $(filter-out src/main.c,$(SRCS))
FUZZ_OBJS := $(patsubst src/%.c,build/fuzz/obj/%.o,$(FUZZ_SRCS)) build/fuzz/obj/console_assets.o
FUZZ_CFLAGS := $(CSTD) -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined $(PKG_CFLAGS) -Isrc
FUZZ_BINS := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))

# the replay test is built (with gcc, like every test) from the harnesses
$(BUILD)/tests/test_fuzz: $(wildcard fuzz/*.h)

.PHONY: fuzz-build fuzz-soak soak
.SECONDARY: $(FUZZ_OBJS)
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@FUZZ_TIME=$(FUZZ_TIME) sh scripts/fuzz.sh $(FUZZ_TARGETS)

fuzz-soak: $(FUZZ_BINS)
	@if [ -n "$(FUZZ_SOAK_TIME)" ]; then FUZZ_TIME=$(FUZZ_SOAK_TIME) sh scripts/fuzz.sh $(FUZZ_TARGETS); \
	else FUZZ_RUNS=$(FUZZ_SOAK_RUNS) sh scripts/fuzz.sh $(FUZZ_TARGETS); fi

soak: fuzz-soak

build/fuzz/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/obj/console_assets.o: build/fuzz/gen/console_assets.c src/console_assets.h
	@mkdir -p $(@D)
	@clang $(FUZZ_CFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_%_harness.h fuzz/fuzz_common.h $(FUZZ_OBJS)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ifuzz -o $@ $< $(FUZZ_OBJS) $(PKG_LIBS)

build/fuzz/gen/console_assets.c: $(ASSETS) scripts/gen_console_assets.py
	@mkdir -p $(@D)
	@python3 scripts/gen_console_assets.py $@ $(ASSETS)

# The long runs, for before a release: `make soak`. adversary-soak runs the
# randomized adversary (tests/test_adversary.c, 60 s in make check) for
# SOAK_SECONDS (default 10 minutes) under the sanitizers, from
# ADVERSARY_SEED (default: a new one each run, printed first) so every soak
# explores new sequences; a violation prints its seed and shortest sequence.
SOAK_SECONDS ?= 600
soak: adversary-soak

adversary-soak:
	@$(MAKE) --no-print-directory MODE=check build/check/tests/test_adversary
	@seed=$${ADVERSARY_SEED:-$$(date +%s)}; echo "adversary-soak: seed $$seed, $(SOAK_SECONDS) s"; \
		ADVERSARY_SEED=$$seed ADVERSARY_SECONDS=$(SOAK_SECONDS) build/check/tests/test_adversary

format:
	clang-format -i src/*.c src/*.h tests/*.c tests/*.h

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr --suppress=unknownMacro --std=c11 -Isrc \
		--include=/usr/include/jansson.h src

clean:
	rm -rf build airlock
