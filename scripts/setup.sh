#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test HPC, and says what it does.
# Debian packages through apt-get (as root, or through sudo); NuGet packages come later from 'dotnet restore'.
set -euo pipefail
source "$(dirname "$0")/debian-packages.sh"

need=(cmake g++ make libopenblas-dev libgtest-dev)
mapfile -t missing < <(missing_packages "${need[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
else
  echo "setup: Debian packages present: ${need[*]}"
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: error: the .NET SDK (10) is not on PATH; install it (it is not a Debian package) and run again." >&2
  exit 1
fi
echo "setup: .NET SDK $(dotnet --version), $(cmake --version | head -n1), $(g++ --version | head -n1)"
