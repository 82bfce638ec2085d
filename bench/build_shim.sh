#!/bin/sh
# Build bench/build/libcupsshim.so from bench/cups_shim.c (libcups 2.x), if it is
# missing or older than its source.  bench/codec.py runs this by itself.
#   usage: sh bench/build_shim.sh [--force]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src="$here/cups_shim.c"
out="$here/build/libcupsshim.so"
cc=${CC:-gcc}

if [ "${1:-}" != "--force" ] && [ -f "$out" ] && [ ! "$src" -nt "$out" ]; then
    exit 0
fi
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build_shim.sh: no C compiler ($cc); install one: apt-get install gcc" >&2
    exit 1
fi
if ! printf '#include <cups/ipp.h>\n' | "$cc" -E -x c - >/dev/null 2>&1; then
    echo "build_shim.sh: the libcups headers (cups/ipp.h) are missing;" \
        "install them with: apt-get install libcups2-dev" >&2
    exit 1
fi
mkdir -p "$here/build"
"$cc" -O2 -Wall -Wextra -shared -fPIC -o "$out.tmp" "$src" -lcups
mv "$out.tmp" "$out"
echo "build_shim.sh: built $out" >&2
