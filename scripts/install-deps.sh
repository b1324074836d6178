#!/usr/bin/env bash
# Installs every Debian package Kiln needs to build, test, fuzz and benchmark.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libhwy-dev libpcre2-dev nlohmann-json3-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format ccache
  libboost-dev libssl-dev
  libsqlite3-dev libpqxx-dev postgresql
  chromium  # headless: renders the HTML report of `kiln bench serve` in its test
  nodejs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm runs the end-to-end tests' openai client. Debian packages it apart from nodejs; other
# nodejs builds (e.g. NodeSource's) ship it inside and conflict with Debian's npm package.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
