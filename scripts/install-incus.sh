#!/usr/bin/env bash
# Install the Incus engine for halab's `incus` provider: on the front host of a class that runs its lab nodes
# on an Incus cluster, on each cluster member, and on CI (scripts/test.sh: the cluster tests make a three-member
# cluster on the machine). A student's own machine does not need it: scripts/install.sh does not call this.
#
# What it installs: Incus 6.0 LTS from Debian's bookworm-backports, container parts only (incus-base, not
# `incus`, whose VM support would pull a newer qemu-system-x86 over the one libvirt's drbd lab uses), and
# btrfs-progs (halab's storage pool: each node's disk is a snapshot of the node image). No daemon is started
# (policy-rc.d): the instructor starts incusd on each member (README, "Lab nodes on an Incus cluster"), the tests
# start theirs (halab/providers/incus/localcluster.py).
#
# Root's subordinate IDs (/etc/subuid, /etc/subgid), which Incus gives its containers, are kept below
# 0x10000000, where halab's nspawn nodes' ID ranges begin (halab/host/idmap.py), so that no container of one
# engine ever shares IDs with a node of the other.
set -euo pipefail

BACKPORTS=/etc/apt/sources.list.d/bookworm-backports.sources
POLICY_RC_D=/usr/sbin/policy-rc.d
SUBID_LINE="root:1000000:267435456"  # IDs 1000000 .. 0x0fffffff

install_incus() {
  if [ "$(id -u)" != 0 ]; then
    echo "install-incus.sh: run it as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! dpkg-query -W -f='${Status}' incus-base btrfs-progs 2>/dev/null | grep -q "install ok installed.*install ok installed"; then
    if [ ! -e "$BACKPORTS" ]; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$BACKPORTS"
    fi
    apt-get update -q
    local made_policy=""
    if [ ! -e "$POLICY_RC_D" ]; then
      made_policy=1
      trap 'rm -f "$POLICY_RC_D"' EXIT
      printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC_D"
      chmod +x "$POLICY_RC_D"
    fi
    echo "== installing Incus (container parts only) from bookworm-backports, and btrfs-progs"
    apt-get install -y -q --no-install-recommends -t bookworm-backports incus-base btrfs-progs
    if [ -n "$made_policy" ]; then
      rm -f "$POLICY_RC_D"
      trap - EXIT
    fi
  fi
  local file
  for file in /etc/subuid /etc/subgid; do
    if ! grep -qx "$SUBID_LINE" "$file" 2>/dev/null; then
      sed -i '/^root:/d' "$file" 2>/dev/null || true
      echo "$SUBID_LINE" >> "$file"
    fi
  done
  echo "== Incus: $(incus version 2>/dev/null | head -1)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cd "$(dirname "$0")/.."
  install_incus "$@"
fi
