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

# The Python drivers, where this build has them: installed where Debian's Python looks under the
# prefix, with the entry points glance_store loads drivers by.
package=$(find "$work/prefix" -type d -name glance_store_cpp | head -1)
if [ -n "$package" ]; then
  PYTHONPATH=$(dirname "$package") /usr/bin/python3 - <<'PY'
from importlib.metadata import entry_points
names = sorted(e.name for e in entry_points(group='glance_store.drivers')
               if e.value.startswith('glance_store_cpp.'))
assert names == ['cpp_file', 'cpp_http', 'cpp_rbd', 'cpp_s3', 'cpp_swift'], names
for e in entry_points(group='glance_store.drivers'):
    if e.name.startswith('cpp_'):
        assert e.load().ENTRY_POINT == e.name
PY
  case "$package" in
    */lib/python3.*/dist-packages/glance_store_cpp) ;;
    *) echo "Python package installed at $package"; exit 1 ;;
  esac
  echo "install test: the Python drivers load from the installed package"
fi
echo "install test: find_package and pkg-config consumers built and ran"
