# airlock — build, deps, demo, check, bench.
# `make demo` and `make check` install what is missing first (scripts/deps.sh),
# then re-enter make so pkg-config sees the freshly installed libraries.

PKGS     := sqlite3 jansson yaml-0.1 libsodium libmicrohttpd libcurl
CC       ?= gcc
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CSTD     := -std=gnu11 -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lm

MODE     ?= release
ifeq ($(MODE),check)
  OPT    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDSAN  := -fsanitize=address,undefined
else
  OPT    := -O2 -g
  LDSAN  :=
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

.PHONY: all deps demo check test bench clean format lint fuzz
ifeq ($(MODE),release)
all: airlock
else
all: $(BUILD)/airlock
endif

# ./airlock is always the release build; sanitized builds stay under build/.
airlock: build/release/airlock
	@cp build/release/airlock airlock

$(BUILD)/airlock: $(OBJS)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $^ $(PKG_LIBS)

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
	@$(CC) $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) -Isrc -Itests -o $@ $< $(LIBOBJS) $(LDSAN) $(PKG_LIBS) -lcmocka

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
	@MODE=$(MODE) BUILD=$(BUILD) sh tests/run

check: deps
	@sh scripts/npm-deps.sh
	@$(MAKE) --no-print-directory MODE=check test

bench: deps
	@$(MAKE) --no-print-directory MODE=release airlock $(patsubst bench/%.c,build/release/bench/%,$(BENCHSRC))
	@sh bench/run

# libFuzzer on the MCP message handler: bounded run (FUZZ_TIME seconds),
# new inputs in build/fuzz/corpus-mcp, seeds in fuzz/corpus/mcp, crashers
# kept in fuzz/regress/mcp (replayed by tests/test_mcp_fuzz.c in make check).
FUZZ_TIME ?= 60
FUZZ_SRCS := $(filter-out src/main.c,$(SRCS))
fuzz: build/fuzz/fuzz_mcp
	@mkdir -p build/fuzz/corpus-mcp fuzz/regress/mcp
	build/fuzz/fuzz_mcp -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 \
		-artifact_prefix=fuzz/regress/mcp/ build/fuzz/corpus-mcp fuzz/corpus/mcp

build/fuzz/fuzz_mcp: fuzz/fuzz_mcp.c fuzz/fuzz_mcp_harness.h $(FUZZ_SRCS) $(wildcard src/*.h) build/fuzz/gen/console_assets.c
	@mkdir -p build/fuzz
	@echo "  FUZZ    $@"
	@clang $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$(PKG_CFLAGS) -Isrc -o $@ fuzz/fuzz_mcp.c $(FUZZ_SRCS) build/fuzz/gen/console_assets.c $(PKG_LIBS)

build/fuzz/gen/console_assets.c: $(ASSETS) scripts/gen_console_assets.py
	@mkdir -p $(@D)
	@python3 scripts/gen_console_assets.py $@ $(ASSETS)

format:
	clang-format -i src/*.c src/*.h tests/*.c tests/*.h

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr --suppress=unknownMacro --std=c11 -Isrc src

clean:
	rm -rf build airlock
