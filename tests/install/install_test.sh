#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds the consumer program twice: with
# find_package(glance_store) and with pkg-config. Both must run and parse a URI.
set -euo pipefail
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/glance-store"
test -f "$work/prefix/share/man/man1/glance-store.1"

cmake -S "$source_dir" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
out=$("$work/cmake-build/consumer" file:///var/lib/glance/images/x)
[ "$out" = "file:///var/lib/glance/images/x" ] || { echo "cmake consumer printed: $out"; exit 1; }
# The RBD driver's libraries (librbd, librados) come with the package's link interface.
if grep -q '^GLANCE_STORE_WITH_RBD:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  out=$("$work/cmake-build/consumer" rbd://f/images/a%3Ab/snap)
  [ "$out" = "rbd://f/images/a%3Ab/snap" ] || { echo "cmake consumer printed: $out"; exit 1; }
fi

pc_dir=$(dirname "$(find "$work/prefix" -name glance_store.pc | head -1)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs glance_store)
# shellcheck disable=SC2086
g++ -std=c++20 "$source_dir/consumer.cc" -o "$work/pc-consumer" $flags
out=$("$work/pc-consumer" ftp://x/y || true)
[ "$out" = "UnknownScheme" ] || { echo "pkg-config consumer printed: $out"; exit 1; }
echo "install test: find_package and pkg-config consumers built and ran"
