#!/bin/sh
# Installs the Debian packages named as arguments that are not installed yet.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# another apt run (a second make in parallel) holds the lock: wait for it
$SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq &&
  $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null || {
    echo "deps: could not install$missing" >&2
    exit 1
  }
