# adbench — one binary, build/adbench. `make help` lists the targets.
#
# Dependencies are found through pkg-config (scripts/setup.sh installs them).
# Flags that the compiler may not support (-march=native) are test-compiled first,
# as llm.c does, and the build log says what was found.

CC      ?= cc
CXX     ?= c++
BUILD   ?= build
SAN     ?=
# Metrics code must keep IEEE semantics: never -ffast-math anywhere in this Makefile.
OPT     ?= -O2
CFLAGS_BASE  = -std=c11 -Wall -Wextra -D_GNU_SOURCE -fopenmp $(OPT) -g -MMD -MP
CXXFLAGS_BASE = -std=c++17 -Wall -Wextra -fopenmp $(OPT) -g -MMD -MP
INCLUDES = -Isrc -Ibackbones -Imethods -Idatasets

PKGS = opencv4 yaml-0.1 libcjson igraph openblas
LINK_PKGS = yaml-0.1 libcjson igraph openblas
HAVE_PKGS := $(shell pkg-config --exists $(PKGS) && echo yes)
ifneq ($(HAVE_PKGS),yes)
  $(warning ✗ missing pkg-config packages among: $(PKGS). Run: sudo bash scripts/setup.sh)
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Only the OpenCV modules we use (pkg-config would link all ~60).
PKG_LIBS   := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) -lopencv_imgcodecs -lopencv_imgproc -lopencv_core
# libcsv ships no .pc file on Debian.
LIBS = $(PKG_LIBS) -lcsv -lm -lstdc++ -fopenmp

# OpenMP build of OpenBLAS: BLAS called inside OpenMP regions needs it (OpenBLAS FAQ).
BLAS_VARIANT := $(shell readlink -f $$(pkg-config --variable=libdir openblas 2>/dev/null)/libopenblas.so 2>/dev/null)
ifeq (,$(findstring openmp,$(BLAS_VARIANT)))
  $(warning ✗ OpenBLAS in use ($(BLAS_VARIANT)) is not the OpenMP build; install libopenblas-openmp-dev)
endif

NATIVE := $(shell echo 'int main(void){return 0;}' | $(CC) -march=native -x c - -o /dev/null 2>/dev/null && echo -march=native)
ifeq ($(NATIVE),)
  $(info ✗ -march=native not supported by $(CC); building generic code)
endif

CFLAGS   += $(CFLAGS_BASE) $(NATIVE) $(INCLUDES) $(PKG_CFLAGS) $(SAN)
CXXFLAGS += $(CXXFLAGS_BASE) $(NATIVE) $(INCLUDES) $(PKG_CFLAGS) $(SAN)
LDFLAGS  += $(SAN)

LIB_C   = $(filter-out src/main.c, $(wildcard src/*.c backbones/*.c methods/*.c datasets/*.c))
LIB_CXX = $(wildcard src/*.cpp)
LIB_OBJ = $(LIB_C:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cpp=$(BUILD)/%.o)
# The fuzz harnesses are compiled into the test binary too (-DFUZZ_REPLAY renames their
# LLVMFuzzerTestOneInput), so `make test` replays tests/fuzz/corpus/ through them.
FUZZ_NAMES = npy safetensors config image vit_forward
FUZZ_SRC = $(FUZZ_NAMES:%=tests/fuzz/fuzz_%.c)
TEST_OBJ = $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/test_*.c tests/util_*.c) $(FUZZ_SRC) tests/fuzz/fuzz_util.c)

.PHONY: all test test-asan fuzz bench clean help demo reproduce-mvtec reproduce-visa reproduce-rad reproduce-btad
all: $(BUILD)/adbench

help:
	@echo "make            build $(BUILD)/adbench"
	@echo "make test       build and run the test suite (Criterion)"
	@echo "make test-asan  the same suite under AddressSanitizer + UBSan (build-asan/)"
	@echo "make fuzz       libFuzzer harnesses tests/fuzz/ with clang (build-fuzz/fuzz_*); FUZZ_TIME=s runs each"
	@echo "make bench      kernel and end-to-end benchmarks (ratios to sgemm peak / PyTorch)"
	@echo "make demo       run configs/demo.yaml offline"
	@echo "make reproduce-mvtec (visa, btad, rad)  paper configs on one dataset (weights + data needed)"
	@echo "make clean"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libadbench.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/adbench: $(BUILD)/src/main.o $(BUILD)/libadbench.a
	$(CC) $(LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/fuzz/%.o: CFLAGS += -DFUZZ_REPLAY -Itests/fuzz

$(BUILD)/test_adbench: $(TEST_OBJ) $(BUILD)/libadbench.a
	$(CC) $(LDFLAGS) $^ $(LIBS) -lcriterion -o $@

# Tests find the binary and the shared data through these variables. XDG_CACHE_HOME: the
# weights digests of the tests' temporary models go to the build folder, not ~/.cache.
test: $(BUILD)/adbench $(BUILD)/test_adbench
	ADBENCH=$(abspath $(BUILD)/adbench) XDG_CACHE_HOME=$(abspath $(BUILD))/test-cache ./$(BUILD)/test_adbench --jobs=2 $(TEST_ARGS)

test-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# libFuzzer harnesses (tests/fuzz/): the library rebuilt with clang and ASan + UBSan in
# build-fuzz/, one binary per harness. FUZZ_TIME=300 then runs each for that many seconds on
# a scratch copy of its corpus (under nice), e.g. make fuzz FUZZ_TIME=300.
HAVE_CLANG := $(shell command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1 && echo yes)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer
fuzz:
ifeq ($(HAVE_CLANG),yes)
	$(MAKE) BUILD=build-fuzz CC=clang CXX=clang++ OPT=-O1 SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" build-fuzz/libadbench.a
	@for h in $(FUZZ_NAMES); do \
	  echo "clang -fsanitize=fuzzer tests/fuzz/fuzz_$$h.c -> build-fuzz/fuzz_$$h"; \
	  for f in fuzz_$$h fuzz_util; do clang -std=c11 -D_GNU_SOURCE -g -O1 -fopenmp $(INCLUDES) -Itests/fuzz $(PKG_CFLAGS) \
	    $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c tests/fuzz/$$f.c -o build-fuzz/$$f.o || exit 1; done; \
	  clang++ $(FUZZ_SAN) -fsanitize=fuzzer build-fuzz/fuzz_$$h.o build-fuzz/fuzz_util.o build-fuzz/libadbench.a \
	    $(LIBS) -o build-fuzz/fuzz_$$h || exit 1; \
	done
ifneq ($(FUZZ_TIME),)
	@for h in $(FUZZ_NAMES); do \
	  mkdir -p build-fuzz/corpus/$$h && cp -n tests/fuzz/corpus/$$h/* build-fuzz/corpus/$$h/ 2>/dev/null; \
	  nice -n 19 ./build-fuzz/fuzz_$$h -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -timeout=20 \
	    -artifact_prefix=build-fuzz/crash-$$h- build-fuzz/corpus/$$h || exit 1; \
	done
endif
else
	@echo "make fuzz: clang (with libFuzzer) not found; the harnesses still run on their corpus in make test"
endif

# Benchmarks print ratios (to OpenBLAS sgemm peak and PyTorch, measured in the same run).
bench: $(BUILD)/adbench
	ADBENCH=$(abspath $(BUILD)/adbench) bash scripts/bench.sh $(BENCH_ARGS)

demo: $(BUILD)/adbench
	bash scripts/demo.sh

# Paper configs on one dataset (needs scripts/fetch_weights.sh and scripts/fetch_datasets.sh):
# MuSc and CoDeGraph with CLIP ViT-L-14-336 and DINOv2 ViT-L/14 at 518, each compared with the
# MuSc table of its own backbone (README per-category table; sweep table for DINOv2).
DATA ?= data
REPRODUCE = reproduce-mvtec reproduce-visa reproduce-btad reproduce-rad
$(REPRODUCE): reproduce-%: $(BUILD)/adbench
	@case "$*" in mvtec) d="{name: mvtec, root: $(DATA)/mvtec_anomaly_detection, categories: all}";; \
	  visa) d="{name: visa, root: $(DATA)/VisA, categories: all}";; \
	  btad) d="{name: btad, root: $(DATA)/BTech_Dataset_transformed, categories: all}";; \
	  rad) d="{name: rad, root: $(DATA)/RAD-dataset, categories: all}";; \
	  *) echo "unknown dataset $*; expected mvtec, visa, btad or rad"; exit 1;; esac; \
	for cfg in configs/musc_codegraph_clip.yaml configs/musc_codegraph_dinov2.yaml; do \
	  case $$cfg in *clip*) pub=results/published/musc_readme.csv;; *) pub=results/published/musc_sweep.csv;; esac; \
	  ./$(BUILD)/adbench run $$cfg --set "datasets=[$$d]" --out results/runs/$*_$$(basename $$cfg .yaml) || exit 1; \
	  ./$(BUILD)/adbench compare results/runs/$*_$$(basename $$cfg .yaml)/results.csv $$pub \
	    || echo "(nothing comparable in $$pub for $*)"; \
	done

clean:
	rm -rf build build-asan build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
