# Sourced by the setup scripts: the Debian packages a machine lacks, and running apt-get as root.
# missing_packages PKG...: prints, one per line, the packages of the list that dpkg does not have installed. A name
# without an architecture counts as installed when it is for this machine's architecture (or "all"): `dpkg -s NAME`
# fails as ambiguous once the arm64 build of the same package is installed too (the aarch64 stage's libraries). grep
# reads all of dpkg-query's lines (no -q), so that pipefail never sees dpkg-query stopped by a closed pipe.
missing_packages() {
  local p native
  native=$(dpkg --print-architecture)
  for p in "$@"; do
    if [[ $p == *:* ]]; then
      dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -x "install ok installed" >/dev/null || echo "$p"
    else
      dpkg-query -W -f='${Architecture} ${Status}\n' "$p" 2>/dev/null | grep -xE "($native|all) install ok installed" >/dev/null || echo "$p"
    fi
  done
}
# as_root CMD...: runs CMD as root: directly when this is root, else through sudo; fails, saying so, without either.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "error: need root (or sudo) for: $*" >&2; return 1
  fi
}
# apt_install PKG...: refreshes the package lists and installs the packages, without questions (the environment
# variable passed through env, which sudo would otherwise drop).
apt_install() {
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
