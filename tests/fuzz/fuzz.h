// libFuzzer harnesses (tests/fuzz/fuzz_*.c). `make fuzz` builds each one with clang
// -fsanitize=fuzzer,address,undefined as LLVMFuzzerTestOneInput; `make test` compiles the same
// files with -DFUZZ_REPLAY into the Criterion binary, where the entry point is named
// fuzz_<name>_one_input and tests/test_fuzz.c replays tests/fuzz/corpus/<name>/.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef FUZZ_REPLAY
#define FUZZ_TARGET(name) int fuzz_##name##_one_input(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

// Writes data to a per-process temporary file with the given suffix; returns its path
// (static buffer, reused by every call of this process).
const char *fuzz_tmp_file(const char *tag, const char *suffix, const uint8_t *data, size_t size);
