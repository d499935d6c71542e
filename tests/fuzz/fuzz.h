/* What every fuzz target defines: libFuzzer calls it with each input
 * (make fuzz); tests/fuzz/replay.c calls it with each file of a corpus
 * in the sanitizer build (make check). */
#ifndef NF_FUZZ_H
#define NF_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
