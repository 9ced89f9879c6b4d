# lua-nn: build, test, data, the main job.  `make help` lists the targets.
# Plain `make` only builds: it needs a C compiler and the headers of Lua,
# OpenBLAS and zlib, on any POSIX system.  The targets that need more
# (`make mnist`, `make test`, ...) call `deps` first, which installs what is
# missing from Debian's packages, so a fresh Debian machine needs nothing by
# hand.

# Which Lua: lua5.4 (the default), lua5.3, lua5.2, lua5.1 or luajit, as in
# `make test LUA=luajit`.  Another Lua works given LUA_INC (its headers) and
# LUA_LIB (its library, for the embedding host).
LUA       ?= lua5.4
ifeq ($(LUA),luajit)
  LUA_INC  ?= /usr/include/luajit-2.1
  LUA_LIB  ?= -lluajit-5.1
  LUA_DEBS := luajit libluajit-5.1-dev
else ifneq ($(filter lua5.1 lua5.2 lua5.3 lua5.4,$(LUA)),)
  LUA_INC  ?= /usr/include/$(LUA)
  LUA_LIB  ?= -l$(LUA)
  LUA_DEBS := $(LUA) $(if $(filter lua5.1,$(LUA)),liblua5.1-0-dev,lib$(LUA)-dev)
else ifndef LUA_INC
  $(error LUA must be lua5.1, lua5.2, lua5.3, lua5.4 or luajit (or give LUA_INC and LUA_LIB), got $(LUA))
endif
# every Lua the test suite runs children of (model files cross versions)
LUAS      := lua5.1 lua5.2 lua5.3 lua5.4 luajit

CC        ?= cc
CFLAGS    ?= -O2
CFLAGS    += -std=c99 -Wall -Wextra -fPIC -I$(LUA_INC)
# cblas.h outside the compiler's search path (Fedora: /usr/include/openblas)
CFLAGS    += $(if $(OPENBLAS_INCDIR),-I$(OPENBLAS_INCDIR))
LDFLAGS   += -shared
LIBS      := -lopenblas -lz -lm

# BLAS=openblas (the default) links OpenBLAS.  BLAS=none builds on the
# project's own SGEMM (csrc/k_gemm.c) with zlib linked in (its symbols kept
# private), stripped: a core that needs nothing beyond the C library and
# libm.  Its files go to build/<lua>-noblas, beside the default build's.
BLAS      ?= openblas
ifeq ($(BLAS),none)
  ZLIB_A   ?= $(shell $(CC) -print-file-name=libz.a)
  CFLAGS   += -DNN_BLAS_NONE
  LIBS     := $(ZLIB_A) -lm
  LDFLAGS  += -Wl,--exclude-libs,ALL
  BUILD    := build/$(LUA)-noblas
  DEBS_BLAS :=
else ifeq ($(BLAS),openblas)
  BUILD    := build/$(LUA)
  DEBS_BLAS := libopenblas-dev
else
  $(error BLAS must be openblas or none, got $(BLAS))
endif

# Every Lua's core goes to build/<lua>/nn/core.so (BLAS=none:
# build/<lua>-noblas/nn/core.so); nn.lua in the top directory puts the
# default build's on the path of a Lua started there.
CORE_DIR  := $(BUILD)
CORE      := $(CORE_DIR)/nn/core.so
SRCS      := $(wildcard csrc/*.c)
HDRS      := $(wildcard csrc/*.h)

# So that scripts run from this tree find `nn` and `nn.core` (the rock
# installs them properly; see `make install`).  NN_LUA names the
# interpreter to the specs, which start children of it.
export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;
export LUA_CPATH := $(CURDIR)/$(CORE_DIR)/?.so;;
export NN_LUA    := $(LUA)
export NN_BLAS   := $(BLAS)

# Debian packages the library needs to build and run, and those the tests
# add (busted; PyTorch for the numerical cross-checks; Fashion-MNIST to
# prove the loader on gzipped IDX files; every Lua, for the specs that run
# children of each; LÖVE, Xvfb and zip for the demo's specs; Chromium to render
# the charts and the report; Open MPI for nn.mpi's specs under mpirun).
DEBS      := $(LUA_DEBS) $(DEBS_BLAS) zlib1g-dev luarocks
MPI_DEBS  := libopenmpi-dev openmpi-bin
TESTDEBS  := lua-busted python3-torch dataset-fashion-mnist wamerican $(MPI_DEBS) \
             lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev \
             lua5.4 liblua5.4-dev luajit libluajit-5.1-dev \
             love xvfb xauth zip chromium

MNIST_DIR := data/mnist

# nn.mpi, the optional MPI module (data-parallel training: nn.fit's
# distributed option): Open MPI's mpicc builds build/<lua>/nn/mpi.so from
# csrc/mpi/.  Neither the core nor the rock needs MPI.  Linked -z nodelete:
# its exit handler (finalize, or abort after a failure) must outlive
# lua_close.  The specs run it under mpirun (NP ranks, as root too).
MPICC     ?= mpicc
MPI_MOD   := $(CORE_DIR)/nn/mpi.so
NP        ?= 2
# --bind-to none: on a machine shared with other work, a rank pinned to a
# busy core waits there (and with it every rank, each step)
MPIRUN    := mpirun --oversubscribe --allow-run-as-root --bind-to none -np

.PHONY: all core cores mpi mpi-deps mnist-mpi embed-lib deps test-deps fengari test windows windows-deps love bench-shipping check-asan check-valgrind soak mnist cnn names data embed rock-check rockspec docs install bench fuzz clean help

all: $(CORE)

help:
	@echo "make          build the C core, build/<lua>/nn/core.so (installs nothing)"
	@echo "make deps     install the Debian packages the build needs, if missing"
	@echo "make test     run the whole busted suite; ends with 'N passed, N failed'"
	@echo "make mnist    the main job: fetch MNIST, train the MLP, report test accuracy"
	@echo "make data     fetch and verify MNIST into $(MNIST_DIR)"
	@echo "make mpi      build nn.mpi (Open MPI), build/<lua>/nn/mpi.so, for nn.fit's distributed option"
	@echo "make mnist-mpi NP=2  the main job's MLP trained data-parallel on NP ranks (mpirun)"
	@echo "make cnn      a LeNet-style CNN on MNIST (examples/mnist_cnn.lua), test accuracy"
	@echo "make names    a character LSTM makes up names (examples/names.lua), beside PyTorch's twin"
	@echo "make docs     the README's and docs/format.md's layer lists, from the registry"
	@echo "make rock-check  build and install the LuaRock into a temporary tree"
	@echo "make install  install the rock system-wide"
	@echo "make fuzz     the model loader under libFuzzer for FUZZ_SECONDS (60)"
	@echo "make check-asan  the suite with the C core under ASan and UBSan"
	@echo "make check-valgrind  the specs under valgrind memcheck"
	@echo "make soak     NN_SOAK_STEPS (200000) training steps; memory must stay flat"
	@echo "make bench    benchmarks against PyTorch, the raw GEMM limit and the FMA peak,"
	@echo "              on 1 and 2 threads (BENCH_THREADS=1,2), an epoch of the example CNN,"
	@echo "              and nn.export's files on every Lua"
	@echo "BLAS=none     any target on the own SGEMM instead of OpenBLAS (build/<lua>-noblas);"
	@echo "              make bench BLAS=none times both builds side by side"
	@echo "make embed    build and run examples/embed/host.c, a C host embedding Lua and nn"
	@echo "make embed-lib  build/<lua>/liblua-nn.a, lua-nn to link into a host (csrc/lua_nn.h)"
	@echo "make windows  $(WIN_DLL) for LuaJIT's lua51.dll (LOVE on Windows), cross-built"
	@echo "make love     dist/love-digit.love, the LOVE demo as a game, and dist/love-digit/"
	@echo "              (what goes beside a fused executable): README's Shipping a game"
	@echo "make bench-shipping  C core against nn.export's Lua on LuaJIT, per network size"
	@echo "LUA=lua5.1|lua5.2|lua5.3|luajit  any target for another Lua (default lua5.4)"

# Installs only what is missing; apt-get update only when something is.
deps:
	@sh tools/deps.sh $(DEBS)

# Fengari (Lua 5.3's VM written in JavaScript, from npm) runs the files
# nn.export writes, as a Lua that cannot load C (spec/export_spec.lua,
# through tools/fengari.js).  node and npm are looked for as commands, not
# as packages: NodeSource's nodejs carries its own npm and conflicts with
# Debian's.
FENGARI_VERSION := 0.1.5
FENGARI         := build/fengari/node_modules/fengari/package.json

fengari: $(FENGARI)

$(FENGARI):
	@command -v node >/dev/null 2>&1 || sh tools/deps.sh nodejs
	@command -v npm >/dev/null 2>&1 || sh tools/deps.sh npm
	@mkdir -p build/fengari
	cd build/fengari && npm install --silent --no-audit --no-fund --prefix . fengari@$(FENGARI_VERSION)

test-deps: deps $(FENGARI)
	@sh tools/deps.sh $(TESTDEBS)

$(CORE): $(SRCS) $(HDRS) Makefile
	@[ -f "$(LUA_INC)/lua.h" ] || { echo "make: $(LUA_INC)/lua.h is missing:" \
	  "run make deps (Debian), or give LUA_INC"; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(SRCS) $(LDFLAGS) $(LIBS)
	$(if $(filter none,$(BLAS)),strip --strip-unneeded $@)

# the cores of every Lua, for the specs that run a child of each
cores: test-deps
	@for l in $(LUAS); do $(MAKE) --no-print-directory LUA=$$l BLAS=$(BLAS) core || exit 1; done

core: $(CORE)

mpi-deps: deps
	@sh tools/deps.sh $(MPI_DEBS)

$(MPI_MOD): csrc/mpi/nn_mpi.c $(HDRS) Makefile | mpi-deps
	@[ -f "$(LUA_INC)/lua.h" ] || { echo "make: $(LUA_INC)/lua.h is missing:" \
	  "run make deps (Debian), or give LUA_INC"; exit 1; }
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) -o $@ csrc/mpi/nn_mpi.c $(LDFLAGS) -Wl,-z,nodelete

mpi: mpi-deps $(MPI_MOD)

# lua-nn for linking into a host program (csrc/lua_nn.h): the core's
# objects, and lua_nn_preload with every lua/nn/*.lua built in.
OBJDIR    := $(BUILD)/obj
EMBED_LIB := $(BUILD)/liblua-nn.a
LUA_SRCS  := $(wildcard lua/nn/*.lua)

$(OBJDIR)/%.o: csrc/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/nn_sources.h: $(LUA_SRCS) tools/embed_sources.lua
	@mkdir -p $(dir $@)
	$(LUA) tools/embed_sources.lua $@ $(LUA_SRCS)

$(OBJDIR)/preload.o: csrc/preload/preload.c $(BUILD)/nn_sources.h $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Icsrc -I$(BUILD) -c -o $@ $<

$(EMBED_LIB): $(SRCS:csrc/%.c=$(OBJDIR)/%.o) $(OBJDIR)/preload.o
	@rm -f $@
	ar rcs $@ $^

embed-lib: deps $(EMBED_LIB)

# examples/embed/host.c: a C program embedding Lua and nn, linked in
# (threads, a memory budget, a per-frame forward on the host's floats);
# spec/embed_spec.lua runs it.
EMBED_HOST := $(BUILD)/embed-host

$(EMBED_HOST): examples/embed/host.c csrc/lua_nn.h $(EMBED_LIB)
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c99 -Wall -Wextra -I$(LUA_INC) -Icsrc -o $@ $< $(EMBED_LIB) \
	  $(LUA_LIB) $(LIBS) -lpthread

embed: deps $(EMBED_HOST)
	./$(EMBED_HOST)

# The hostile-input sweep (spec/hostile_sweep_spec.lua) tries every
# NN_SWEEP_STRIDE-th argument pair of every entry point, from pair
# NN_SWEEP_OFFSET: 10 here, a tenth of its time; CI (.ci/run) gives 1 on
# 5.4 and 4 at offsets 0 to 3 on the other Luas, check-asan 1.  The suite
# runs OpenBLAS on TEST_THREADS (1) threads: its waiting threads cost CPU
# on a shared machine (a one-epoch CNN example, 17 s against 8 s), and the
# specs that need more threads ask for them (nn.threads(2) in conv_spec).
NN_SWEEP_STRIDE ?= 10
NN_SWEEP_OFFSET ?= 0
TEST_THREADS    ?= 1

# Where wine is installed, the suite runs the Windows build under it too
# (spec/windows_spec.lua; .ci/run installs wine through make windows).
WINE      := $(shell sh tools/windows.sh wine 2>/dev/null)

test: test-deps cores $(CORE) $(MPI_MOD) $(EMBED_HOST) data $(if $(WINE),windows)
	@$(MAKE) --no-print-directory love LOVE_PLATFORMS="$(LOVE_TEST_PLATFORMS)"
	@NN_SWEEP_STRIDE=$(NN_SWEEP_STRIDE) NN_SWEEP_OFFSET=$(NN_SWEEP_OFFSET) \
	  OPENBLAS_NUM_THREADS=$(TEST_THREADS) \
	  NN_EMBED_HOST="$(CURDIR)/$(EMBED_HOST)" sh tools/test.sh

# ---- Windows ---------------------------------------------------------------
# nn/core.dll for LuaJIT 2.1's lua51.dll, which LÖVE for Windows ships and
# loads C modules against: cross-built with Debian's mingw-w64 (x64, the
# win32 thread model: no libwinpthread), the C runtime msvcrt.dll, zlib and
# libgcc linked in, BLAS=none (the project's own SGEMM).  The lua51.dll it
# links against is LuaJIT cross-built from Debian's luajit source package
# (tools/windows.sh), which also gives the luajit.exe that runs the spec
# subset under wine64 (spec/windows_spec.lua, spec/windows/run.lua).
WIN_DIR    := build/windows
WIN_LJ     := $(WIN_DIR)/luajit
WIN_DLL    := dist/windows/nn/core.dll
WIN_CC     := x86_64-w64-mingw32-gcc
WIN_CFLAGS := -O2 -std=c99 -Wall -Wextra -DNN_BLAS_NONE -I$(WIN_LJ)/include
WIN_LIBS   := $(WIN_LJ)/libluajit-5.1.dll.a -l:libz.a -lbcrypt -static-libgcc -s
WINDEBS    := gcc-mingw-w64-x86-64-win32 libz-mingw-w64-dev wine64 dpkg-dev

windows-deps:
	@sh tools/deps.sh $(WINDEBS)

$(WIN_LJ)/lua51.dll: tools/windows.sh | windows-deps
	@sh tools/windows.sh luajit $(WIN_DIR)

# it exports luaopen_nn_core alone (ld would export every global, zlib's too)
$(WIN_DLL): $(SRCS) $(HDRS) $(WIN_LJ)/lua51.dll Makefile | windows-deps
	@mkdir -p $(dir $@)
	@printf 'EXPORTS\n  luaopen_nn_core\n' > $(WIN_DIR)/core.def
	$(WIN_CC) $(WIN_CFLAGS) -shared -o $@ $(SRCS) $(WIN_DIR)/core.def $(WIN_LIBS)
	@sh tools/windows.sh check $@
	@cp LICENSE THIRD-PARTY.txt $(dir $@)

windows: windows-deps $(WIN_DLL)

# ---- LÖVE ------------------------------------------------------------------
# dist/love-digit.love: examples/love as a game to ship, with its model
# (make mnist's, trained first if missing), lua-nn's Lua modules and each
# platform's core inside, for nn.love (lua/nn/love.lua) to copy out into
# the save directory; dist/love-digit/ holds what goes beside a fused
# executable (tools/love.sh).  The cores are the BLAS=none ones: LuaJIT's
# for Linux, $(WIN_DLL) for Windows.  make test builds it with the
# Windows core only where it builds that (wine installed), and
# spec/love_package_spec.lua runs it under Xvfb.
LOVE_MODEL          := $(MNIST_DIR)/mnist_mlp.nn
LOVE_LINUX_CORE     := build/luajit-noblas/nn/core.so
LOVE_PLATFORMS      ?= linux-x86_64 windows-x86_64
LOVE_TEST_PLATFORMS := linux-x86_64 $(if $(WINE),windows-x86_64)
LOVE_CORES          := $(if $(filter linux-x86_64,$(LOVE_PLATFORMS)),linux-x86_64=$(LOVE_LINUX_CORE)) \
                       $(if $(filter windows-x86_64,$(LOVE_PLATFORMS)),windows-x86_64=$(WIN_DLL))

$(LOVE_MODEL):
	@$(MAKE) --no-print-directory mnist

love: $(LOVE_MODEL) $(if $(filter windows-x86_64,$(LOVE_PLATFORMS)),windows)
	@$(MAKE) --no-print-directory LUA=luajit BLAS=none deps core
	@sh tools/deps.sh zip
	@sh tools/love.sh $(LOVE_MODEL) $(LOVE_CORES)

# the trade-off the README's "Shipping a game" gives: one forward of three
# network sizes on LuaJIT, the C cores against nn.export's file
bench-shipping: test-deps
	@$(MAKE) --no-print-directory LUA=luajit core
	@$(MAKE) --no-print-directory LUA=luajit BLAS=none core
	luajit bench/shipping.lua none='build/luajit-noblas/?.so' OpenBLAS='build/luajit/?.so'

# The whole suite with the C core built under AddressSanitizer and UBSan
# (the interpreter preloads their runtimes), with float-cast-overflow,
# which GCC's -fsanitize=undefined leaves out; any report fails it.
ASAN_CORE := build/asan/nn/core.so
ASAN_RT   := $(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)

ASAN_FLAGS := -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined,float-cast-overflow -std=c99 -Wall -Wextra
ASAN_FLAGS += $(filter -DNN_BLAS_NONE,$(CFLAGS))
# the embedding host with lua-nn linked in, all of it under the sanitizers
ASAN_HOST := build/asan/embed-host

$(ASAN_CORE): $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -fPIC -I$(LUA_INC) -shared -o $@ $(SRCS) $(LIBS)

$(ASAN_HOST): examples/embed/host.c csrc/preload/preload.c build/$(LUA)/nn_sources.h $(SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -I$(LUA_INC) -Icsrc -Ibuild/$(LUA) -o $@ examples/embed/host.c \
	  csrc/preload/preload.c $(SRCS) $(LUA_LIB) $(LIBS) -lpthread

check-asan: test-deps cores data $(ASAN_CORE) $(ASAN_HOST)
	@[ "$(LUA)" = lua5.4 ] || { echo "check-asan runs on lua5.4"; exit 1; }
	@ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  LUA_CPATH="$(CURDIR)/build/asan/?.so;;" NN_CPATH="$(CURDIR)/build/asan/?.so" \
	  NN_EMBED_HOST="$(CURDIR)/$(ASAN_HOST)" NN_SWEEP_STRIDE=1 \
	  NN_SANITIZED=asan BUSTED='env LD_PRELOAD="$(ASAN_RT)" lua5.4 /usr/bin/busted' \
	  sh tools/test.sh --cpath="$(CURDIR)/build/asan/?.so"

# The specs under valgrind memcheck, following the child lua5.4 processes
# (the hostile sweep, the memory-limit test): any error or definitely lost
# byte fails it.  Left out: the examples spec (its MNIST part waits under
# any sanitizer; of the rest, sine.lua trains 2 s here, minutes under
# memcheck, through C the other specs run), and the figures spec, which
# draws charts pixel by pixel in Lua (the same C code paths as other
# specs, at a size memcheck would take an hour over).
# memcheck runs Lua some 50 times slower and the AVX2 kernels some 500
# (a small CNN's step: 2.2 ms, 1.7 s under it), so the sweep tries every
# 40th pair (ASan tries them all) and the soak spec 1000 steps, not 5000;
# VALGRIND_HEAVY lists the files that take longest under it (measured:
# 100 to 300 s each), started first so that two at a time end together.
VALGRIND_SPECS := $(filter-out spec/examples_spec.lua spec/figures_spec.lua,$(wildcard spec/*_spec.lua))
VALGRIND_HEAVY := hostile_sweep threads embed train soak recurrent weights plot love

check-valgrind: test-deps cores data $(CORE) $(EMBED_HOST)
	@[ "$(LUA)" = lua5.4 ] || { echo "check-valgrind runs on lua5.4"; exit 1; }
	@sh tools/deps.sh valgrind
	@OPENBLAS_NUM_THREADS=1 NN_SANITIZED=valgrind NN_CPATH="$(CURDIR)/build/lua5.4/?.so" \
	  NN_SWEEP_STRIDE=40 NN_SOAK_STEPS=1000 NN_TEST_HEAVY="$(VALGRIND_HEAVY)" \
	  BUSTED="valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	    --trace-children=yes --trace-children-skip='*/env,*/mkfifo,*/find,*/sort,*/chmod,*/ln,*/head,*/wc,*/cp,*/python3*,*/gzip,*/ls,*/mkdir,*/rm,*/pwd' \
	    lua5.4 /usr/bin/busted" \
	  sh tools/test.sh $(VALGRIND_SPECS)

# Long-run memory: the soak spec with many more steps (NN_SOAK_STEPS).
NN_SOAK_STEPS ?= 200000
soak: test-deps $(CORE)
	@NN_SOAK_STEPS=$(NN_SOAK_STEPS) sh tools/test.sh spec/soak_spec.lua

data:
	@sh tools/fetch_mnist.sh $(MNIST_DIR)

mnist: deps $(CORE) data
	$(LUA) examples/mnist_mlp.lua $(MNIST_DIR)

# the main job's MLP data-parallel: 1 rank, then NP, compared (the model,
# the report and each run's line go to build/)
mnist-mpi: mpi $(CORE) data
	@mkdir -p build
	$(MPIRUN) 1 $(LUA) examples/mnist_mpi.lua $(MNIST_DIR) build
	$(MPIRUN) $(NP) $(LUA) examples/mnist_mpi.lua $(MNIST_DIR) build

cnn: deps $(CORE) data
	$(LUA) examples/mnist_cnn.lua $(MNIST_DIR)

# The name generator: a character-level LSTM trained on the capitalised
# words of Debian's wamerican, its held-out bits per character beside the
# same model trained by PyTorch (examples/names_torch.py), then names made
# up through the C core and the exported plain-Lua file, and the time of
# one on LuaJIT, which LÖVE runs (love examples/love-names shows them).
NAMES_DIR := build/names
LUAJIT_CPATH := $(CURDIR)/build/luajit$(if $(filter none,$(BLAS)),-noblas)/?.so;;

names: deps $(CORE)
	@sh tools/deps.sh wamerican python3-torch luajit libluajit-5.1-dev
	$(LUA) examples/names.lua --out $(NAMES_DIR)
	@$(MAKE) --no-print-directory LUA=luajit BLAS=$(BLAS) core
	LUA_CPATH='$(LUAJIT_CPATH)' luajit examples/names.lua --generate --out $(NAMES_DIR)

rock-check: deps
	@sh tools/deps.sh lua5.1 liblua5.1-0-dev
	@sh tools/rock.sh check

# The model loader under libFuzzer (clang, ASan, UBSan) for FUZZ_SECONDS,
# from a seed corpus of real model files; what it finds lands in fuzz/out/.
FUZZ_SECONDS ?= 60
FUZZ_BIN     := build/fuzz_load

$(FUZZ_BIN): fuzz/fuzz_load.c $(SRCS) $(HDRS)
	@sh tools/deps.sh clang libclang-rt-14-dev
	@mkdir -p build
	clang -g -O1 -fsanitize=fuzzer,address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow \
	  -DNN_LUA_DIR='"$(CURDIR)/lua"' -I$(LUA_INC) -Icsrc -o $@ fuzz/fuzz_load.c \
	  $(SRCS) $(LUA_LIB) $(LIBS)

fuzz: deps $(FUZZ_BIN)
	@rm -rf build/fuzz-corpus && mkdir -p build/fuzz-corpus fuzz/out
	$(LUA) fuzz/seeds.lua build/fuzz-corpus
	cp fuzz/corpus/* fuzz/regressions/* build/fuzz-corpus/ 2>/dev/null || true
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	  -rss_limit_mb=4096 -artifact_prefix=fuzz/out/ -print_final_stats=1 \
	  build/fuzz-corpus

rockspec:
	$(LUA) tools/rockspec_sync.lua

# the docs' layer lists, from the registry (tools/gendocs.lua)
docs: $(CORE)
	$(LUA) tools/gendocs.lua

install: deps
	@sh tools/rock.sh install

# Each workload on 1 and 2 threads side by side (BENCH_THREADS, a list),
# the one-core FMA peak measured by bench/peak.c.  BLAS=none: both builds
# side by side, each workload in a child process per core, paired rounds,
# on the first count of BENCH_THREADS (bench/run.lua).
BENCH_THREADS ?= 1,2
OPENBLAS_CORE_DIR := build/$(LUA)
BENCH_PEAK := build/bench-peak
export NN_PEAK := $(CURDIR)/$(BENCH_PEAK)

$(BENCH_PEAK): bench/peak.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c99 -Wall -Wextra -pthread -o $@ $<

# OpenBLAS on one thread for the GEMM limit (the Matrix products keep
# OpenBLAS's own count, per process; the layers run on nn.threads)
bench: export OPENBLAS_NUM_THREADS ?= 1
bench: test-deps $(CORE) $(BENCH_PEAK) data
ifeq ($(BLAS),none)
	@$(MAKE) --no-print-directory LUA=$(LUA) BLAS=openblas core
	$(LUA) bench/run.lua $(BENCH_THREADS) OpenBLAS='$(CURDIR)/$(OPENBLAS_CORE_DIR)/?.so' \
	  own='$(CURDIR)/$(CORE_DIR)/?.so'
else
	$(LUA) bench/run.lua $(BENCH_THREADS)
endif
	$(LUA) bench/export.lua

# (lua/nn/core.so: where 5.4's core went before build/lua5.4; nn/core.so:
# where a `luarocks make` run in the checkout leaves one)
clean:
	rm -rf build dist
	rm -f lua/nn/core.so nn/core.so csrc/*.o lua/nn/*.o
