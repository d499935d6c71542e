#!/usr/bin/env bash
# The fuzz targets replay their seeds (and whatever corpus earlier
# `make fuzz` runs kept): a crash, leak or undefined behaviour any of them
# ever found stays fixed. `make fuzz` explores further.
exec "$(dirname "$0")/../fuzz/run.sh" "${NF_BUILD:-build}" 0
