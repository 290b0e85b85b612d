#!/usr/bin/env bash
# Install everything halab needs on a Debian 12 machine, as root: Debian packages, the Python venv with
# halab in it, the `halab` command on PATH, and the node image. Safe to run again: it only adds what is
# missing (the image is rebuilt only when its recipe changed).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (sudo bash scripts/install.sh)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
mapfile -t packages < <(sed -e 's/#.*//' -e '/^\s*$/d' scripts/apt-packages.txt)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  apt-get update -q
  # Packages must not start their daemons (libvirtd above all: halab runs it in a namespace of its own).
  policy_made=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_made=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -n "$policy_made" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating the Python venv in .venv"
  python3 -m venv .venv
fi
echo "== installing halab and its Python dependencies"
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
ln -sf "$PWD/.venv/bin/halab" /usr/local/bin/halab

echo "== building the node image (cached; rebuilt only when its recipe changes)"
.venv/bin/halab image build
echo "== halab is installed: $(command -v halab)"
