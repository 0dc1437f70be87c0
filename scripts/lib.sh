# Shared helpers of the project's scripts (sourced, not run).
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}

# The Debian packages that build the library and the tool (librbd and librados for the RBD store;
# python3-dev and pybind11-dev for the Python drivers).
BUILD_PACKAGES=(g++ make cmake pkg-config libssl-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libcurl4-openssl-dev libpugixml-dev librbd-dev libradospp-dev
  librados-dev python3-dev pybind11-dev)
# What the tests need on top: GoogleTest, md5sum/sha512sum, script(1) for the pseudo-terminal,
# clang's libFuzzer, and Debian's glance_store 4.1 as the interoperability reference.
TEST_PACKAGES=(googletest libgtest-dev libgmock-dev coreutils bsdutils util-linux clang
  libclang-rt-14-dev python3 python3-glance-store python3-boto3 nginx tinyproxy)
# A real Keystone v3 for the Swift store's auth tests, served by uwsgi (not the `keystone`
# package: it sets up a database and starts a system service).
TEST_PACKAGES+=(python3-keystone python3-keystonemiddleware uwsgi-core uwsgi-plugin-python3)
# A real Glance API for the Python drivers, and what glance_store's functional tests import.
TEST_PACKAGES+=(glance-api python3-glance python3-testtools python3-os-client-config)

# Installs the packages that are missing (apt-get only when something is).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing: ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# Configures (once) and builds a build tree: build_tree DIR [cmake args…] [-- targets…]
# (every target without `--`).
build_tree() {
  local dir=$1
  shift
  local args=() targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    args+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  for t in "$@"; do targets+=(--target "$t"); done
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}" >/dev/null
  cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
}
