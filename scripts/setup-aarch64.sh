#!/usr/bin/env bash
# Installs what scripts/test.sh's aarch64 stage needs on an x86-64 Debian 12 machine: GCC's aarch64 cross compiler,
# qemu's user-mode emulator, and the arm64 builds of OpenBLAS, GoogleTest and libstdc++ (Debian multiarch: this adds
# the arm64 architecture to dpkg and refreshes the package lists once). Says what it does; exits non-zero when it
# cannot install them (the test script then reports that stage as skipped, with this script's output).
set -euo pipefail
source "$(dirname "$0")/debian-packages.sh"

need=(g++-12-aarch64-linux-gnu qemu-user libopenblas-dev:arm64 libgtest-dev:arm64 libstdc++6:arm64)
mapfile -t missing < <(missing_packages "${need[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-aarch64: Debian packages present: ${need[*]}"
  exit 0
fi
echo "setup-aarch64: installing Debian packages: ${missing[*]}"
if ! dpkg --print-foreign-architectures | grep -x arm64 >/dev/null; then
  echo "setup-aarch64: dpkg --add-architecture arm64"
  as_root dpkg --add-architecture arm64
  # Should the install fail, take the architecture back out again (possible while no arm64 package is installed),
  # so that a mirror without arm64 does not leave apt configured for it.
  trap 'if [ $? -ne 0 ]; then echo "setup-aarch64: failed; dpkg --remove-architecture arm64"; as_root dpkg --remove-architecture arm64 || true; fi' EXIT
fi
apt_install "${missing[@]}"
