# alluse — one C binary embedding LuaJIT.  `make` builds build/alluse.
# Every library comes from pkg-config; `make deps` installs what is missing.

BUILD   ?= build
SAN     ?=
ifeq ($(origin CC),default)
  CC := gcc
endif
PREFIX  ?= /usr/local

# lua-cjson's .pc file requires PUC Lua's lua5.1.pc; we run LuaJIT, which provides
# the same 5.1 ABI, so a one-line shim in $(BUILD)/pkgconfig points lua5.1 at luajit.
PCDIR   := $(BUILD)/pkgconfig
PKGCONF := PKG_CONFIG_PATH=$(PCDIR)$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH} pkg-config
PKGS    := luajit libuv libcurl openssl libpq sqlite3 libedit lua5.1-cjson

ifeq ($(SAN),1)
  override BUILD := $(BUILD)-san
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  OPT := -O1 -g
else
  SANFLAGS :=
  OPT := -O2 -g
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= $(OPT)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Icore -I$(BUILD)/gen \
             $(shell $(PKGCONF) --cflags $(PKGS) 2>/dev/null)
# -rdynamic exports the au_ffi_* functions so LuaJIT's ffi.C can find them.
ALL_LDFLAGS = $(SANFLAGS) -rdynamic $(LDFLAGS)
# libmvec: the two-lane exp core/options/bsm.c uses on x86-64 glibc.
MVEC := $(if $(filter x86_64,$(shell uname -m)),-lmvec)
LIBS = $(shell $(PKGCONF) --libs $(PKGS) 2>/dev/null) $(MVEC) -lm

CORE_SRC := $(shell find core -name '*.c' ! -name main.c | sort)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
LUA_SRC  := $(shell find lua -name '*.lua' | sort)
CTEST_SRC := $(sort $(wildcard tests/c/test_*.c))
CTEST_BIN := $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/c/%)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(filter-out tests/fuzz/driver.c,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SRC := core/md/csv.c core/md/series.c core/md/store.c core/options/occ.c core/sys/autime.c core/sys/errmsg.c core/net/http_parse.c


.PHONY: all deps run test bench clean fuzz image

all: $(BUILD)/alluse

deps:
	@sh scripts/deps.sh

$(PCDIR)/lua5.1.pc:
	@mkdir -p $(PCDIR)
	@printf 'Name: lua5.1\nDescription: LuaJIT standing in for Lua 5.1\nVersion: 5.1\nRequires: luajit\n' > $@

# Regenerated every build, replaced only when the commit changes, so it does not force relinks.
# ALLUSE_COMMIT=... names it where there is no git repository (the image's build stage).
$(BUILD)/gen/buildinfo.h: FORCE
	@mkdir -p $(@D)
	@c='$(ALLUSE_COMMIT)'; [ -n "$$c" ] || { c=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	 git diff --quiet HEAD -- 2>/dev/null || c="$$c-dirty"; }; \
	 printf '#define AU_GIT_COMMIT "%s"\n' "$$c" > $@.tmp; \
	 cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/tools/lua2c: tools/lua2c.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 $(WARN) -o $@ $<

$(BUILD)/gen/lua_embed.c: $(BUILD)/tools/lua2c $(LUA_SRC)
	@mkdir -p $(@D)
	$(BUILD)/tools/lua2c lua $(LUA_SRC) > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/%.o: %.c | $(PCDIR)/lua5.1.pc $(BUILD)/gen/buildinfo.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/gen/lua_embed.o: $(BUILD)/gen/lua_embed.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/alluse: $(BUILD)/obj/core/main.o $(CORE_OBJ) $(BUILD)/obj/gen/lua_embed.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/c/%: tests/c/%.c tests/c/tap.h $(CORE_OBJ) $(BUILD)/obj/gen/lua_embed.o
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/c $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(BUILD)/obj/gen/lua_embed.o $(LIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# make run: the ALL-USE strategy on the shipped daily bars of its tickers.  Change it
# with PROFILE=constitution, FROM=YYYY-MM-DD, TO=YYYY-MM-DD, CASH=N.
PROFILE ?= iai
FROM    ?= 2015-01-01
CASH    ?= 500000
RUN_TICKERS = AAPL AMZN GOOG IWM META MSFT NVDA QQQ SPY TSLA
RUN_DATA = $(foreach t,$(RUN_TICKERS),--data data/$(t)-daily.csv)

run: deps all
	@mkdir -p out
	$(BUILD)/alluse backtest strategies/alluse $(RUN_DATA) --from $(FROM) $(if $(TO),--to $(TO)) \
	  --cash $(CASH) --param profile=$(PROFILE) --json out/result.json --report out/report.html --quiet
	@$(BUILD)/alluse exec scripts/alluse_summary.lua out/result.json
	@echo "report: out/report.html (open it in a browser), result: out/result.json"

# The reference-workload bars for the backtest tests (tests/tools/gen_walk.c): exact
# IEEE arithmetic, so no contraction into fused multiply-adds.
$(BUILD)/tests/tools/gen_walk: tests/tools/gen_walk.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 $(WARN) -ffp-contract=off -o $@ $<

# Every TAP producer goes through one prove run: C unit tests, Lua tests, integration tests.
# ALLUSE_CHECK_INVARIANTS=1: every backtest a test runs checks the ledger and equity
# invariants after every bar.
test: deps all $(CTEST_BIN) $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%) $(BUILD)/tests/tools/gen_walk
	ALLUSE=$(abspath $(BUILD)/alluse) ALLUSE_BUILD=$(abspath $(BUILD)) SAN=$(SAN) ALLUSE_CHECK_INVARIANTS=1 \
	  prove -f -e tests/tap-exec $(CTEST_BIN) $(sort $(wildcard tests/lua/test_*.lua)) \
	    $(sort $(wildcard tests/integration/test_*.sh))

# The container image (container/, docs/container.md): podman or docker, whichever is
# present; IMAGE_MODE=full|staged|auto, BASE=IMAGE|debootstrap, IMAGE=NAME.
image:
	@sh container/build.sh

SHARED ?= ../shared

$(BUILD)/bench/startup: bench/startup.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -o $@ $<

$(BUILD)/bench/csv_import: bench/csv_import.c $(CORE_OBJ) $(BUILD)/obj/gen/lua_embed.o
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(BUILD)/obj/gen/lua_embed.o $(LIBS)

# The reference workload generator from shared/ (not ours: built as its header says).
$(BUILD)/bench/gen_ohlcv: $(SHARED)/bench/gen_ohlcv.c
	@mkdir -p $(@D)
	$(CC) -O2 -ffp-contract=off -o $@ $<

# The same strategy in plain C: the speed limit the backtest bench compares against.
$(BUILD)/bench/sma_ref: $(SHARED)/bench/sma_ref.c
	@mkdir -p $(@D)
	$(CC) -O2 -o $@ $<

bench: deps all $(BUILD)/bench/startup $(BUILD)/bench/csv_import $(BUILD)/bench/gen_ohlcv $(BUILD)/bench/sma_ref
	@sh bench/run.sh $(BUILD)

# Fuzzing (DESIGN §8): libFuzzer targets for every parser of outside input, built with
# clang + ASan/UBSan into build-fuzz/ and run FUZZ_SECONDS each over a seed corpus.
# make test runs the same targets once over the corpus through tests/fuzz/driver.c.
FUZZ_SECONDS ?= 30

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c $(FUZZ_SRC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -Icore -o $@ $< tests/fuzz/driver.c $(FUZZ_SRC) -lm

fuzz: deps
	@command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)"; exit 1; }
	@mkdir -p build-fuzz/corpus
	@for t in $(FUZZ_TARGETS); do \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Icore \
	    -o build-fuzz/$$t tests/fuzz/$$t.c $(FUZZ_SRC) -lm || exit 1; \
	  mkdir -p build-fuzz/corpus/$$t; \
	  cp tests/fuzz/corpus/$$t/* build-fuzz/corpus/$$t/ 2>/dev/null; \
	  [ $$t = fuzz_csv ] && cp tests/fixtures/csv/*.csv data/SPY-1min-2025-07-08.csv build-fuzz/corpus/$$t/; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build-fuzz/corpus/$$t \
	    > build-fuzz/$$t.log 2>&1; rc=$$?; tail -1 build-fuzz/$$t.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz: $$t failed; see build-fuzz/$$t.log"; exit 1; }; \
	done

clean:
	rm -rf build build-san out
