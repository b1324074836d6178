# Kiln: every entry point a person or CI needs. Each target installs what it needs first.
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
JOBS      ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps e2e-deps build test sanitize fuzz serve bench format clean

all: build

deps:
	bash scripts/install-deps.sh

# The official openai npm package for the end-to-end tests (tests/server/e2e), pinned by its
# package-lock.json.
e2e-deps: deps
	cd tests/server/e2e && npm ci --no-audit --no-fund

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build e2e-deps
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

sanitize: deps
	cmake -S . -B $(ASAN_DIR) -G Ninja -DKILN_SANITIZE=ON -DKILN_BUILD_BENCH=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

# libFuzzer targets, built with Debian's clang; each runs FUZZ_SECONDS on its seed corpus.
fuzz: deps
	CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DKILN_FUZZ=ON -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	bash scripts/run-fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

bench: build
	bash scripts/run-benchmarks.sh $(BUILD_DIR)

# The OpenAI-compatible server on the built-in demo model (random weights) at 127.0.0.1:8080.
serve: build
	$(BUILD_DIR)/tools/kiln/kiln serve

format:
	find src tools tests bench fuzz -name '*.cpp' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
