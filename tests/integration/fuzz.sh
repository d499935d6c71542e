#!/usr/bin/env bash
# The fuzz targets replay their seeds (and whatever corpus earlier
# `make fuzz` runs kept) through the sanitizer build (ASan, UBSan that
# does not recover): a crash, leak or undefined behaviour any of them ever
# found stays fixed. `make fuzz` explores further with libFuzzer.
B=${NF_BUILD:-build}
exec "$(dirname "$0")/../fuzz/run.sh" "$B" 0 "${NF_SAN_BUILD:-$B/san}"
