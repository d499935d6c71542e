#!/usr/bin/env bash
# Real Linux guests and vhost-net: the nested test bed (tests/nested/).
exec "$(dirname "$0")/../nested/run.sh" "${NF_BUILD:-$(dirname "$0")/../../build}" all
