#!/usr/bin/env bash
# Install everything halab needs on a Debian 12 machine: Debian packages, the Python venv with halab in it,
# the `halab` command on PATH, and the node image. Safe to run again: it only adds what is missing (the
# image is rebuilt only when its recipe changed).
#
# Run it as root: `bash scripts/install.sh` in a root shell (a fresh Debian has no sudo), or
# `sudo bash scripts/install.sh` as a user who has sudo.
set -euo pipefail

POLICY_RC_D=/usr/sbin/policy-rc.d

# Debian packages from scripts/apt-packages.txt that are not installed yet. While apt installs them, a
# policy-rc.d stops packages from starting their daemons (libvirtd above all: halab runs it in a network
# namespace of its own). The policy is removed again however this ends (apt failing, Ctrl-C, a kill),
# unless it was there before us.
install_debian_packages() {
  local packages missing=() package made_policy=""
  mapfile -t packages < <(sed -e 's/#.*//' -e '/^\s*$/d' scripts/apt-packages.txt)
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "== installing Debian packages: ${missing[*]}"
  apt-get update -q
  if [ ! -e "$POLICY_RC_D" ]; then
    made_policy=1
    trap 'rm -f "$POLICY_RC_D"' EXIT
    printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC_D"
    chmod +x "$POLICY_RC_D"
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -n "$made_policy" ]; then
    rm -f "$POLICY_RC_D"
    trap - EXIT
  fi
}

# Every node's systemd holds inotify instances, and the kernel counts them all against root (who made the
# nodes' namespaces): Debian's default of 128 stops a class's labs at about 16 nodes (issue 21's capacity run:
# units failing with "Too many open files"). Raised, never lowered, in a file of halab's own.
raise_host_limits() {
  local file=/etc/sysctl.d/60-halab.conf key value now
  : > "$file.new"
  for setting in fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=1048576; do
    key=${setting%=*} value=${setting#*=}
    now=$(sysctl -n "$key")
    [ "$now" -gt "$value" ] && value=$now
    echo "$key = $value" >> "$file.new"
  done
  mv "$file.new" "$file"
  sysctl -q -p "$file"
}

main() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run it as root (in a root shell: bash scripts/install.sh; with sudo: sudo bash scripts/install.sh)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  install_debian_packages
  raise_host_limits

  # Debian's own Python, which every user may run: users of the lab service run `halab` from this venv too,
  # and an interpreter under root's home (pyenv) would be closed to them.
  local python=python3
  [ -x /usr/bin/python3 ] && python=/usr/bin/python3
  if [ -x .venv/bin/python ] && ! grep -qx "home = $(dirname "$(readlink -f "$(command -v "$python")")")" .venv/pyvenv.cfg; then
    echo "== the venv in .venv was made with another Python; making it again with $python"
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "== creating the Python venv in .venv ($python)"
    "$python" -m venv .venv
  fi
  echo "== installing halab and its Python dependencies"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  ln -sf "$PWD/.venv/bin/halab" /usr/local/bin/halab

  echo "== installing JupyterHub's proxy for halab classroom (configurable-http-proxy, pinned in package-lock.json)"
  command -v npm >/dev/null || apt-get install -y -q --no-install-recommends npm
  npm ci --omit=dev --no-audit --no-fund --silent

  echo "== building the node image (cached; rebuilt only when its recipe changes)"
  .venv/bin/halab image build
  echo "== halab is installed: $(command -v halab)"
}

# Sourced (by the tests), it only defines the functions above.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
