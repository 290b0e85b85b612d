"""Which knet links carry the cluster's data now: two snapshots of `corosync-cmapctl -m stats stats.knet`'s
``tx_data_packets`` a second apart, with the local node id, separated by a line ``===``.

link_mode is read when corosync starts, and `corosync-cfgtool -R` does not change it (it reloads only the
totem timeouts and such: corosync's totem_volatile_config_read), although the file and `totem.link_mode` in
cmap then say the new mode. What the links do shows the mode knet runs: passive sends the data on one link,
active and rr on all of them. A totem token is always going round, so an idle cluster sends data too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

SEPARATOR = "==="
_NODE_ID = re.compile(r"^runtime\.votequorum\.this_node_id \(\w+\) = (\d+)$", re.M)
_PACKETS = re.compile(r"^stats\.knet\.node(\d+)\.link(\d+)\.tx_data_packets \(\w+\) = (\d+)$", re.M)


@dataclass(frozen=True)
class KnetTraffic:
    links: tuple[int, ...]  # every link knet has to a peer
    carrying: tuple[int, ...]  # the links that sent data to a peer between the two snapshots


def _snapshot(text: str, local: int) -> dict[tuple[int, int], int]:
    return {(int(node), int(link)): int(count) for node, link, count in _PACKETS.findall(text) if int(node) != local}


def parse(text: str) -> KnetTraffic:
    found = _NODE_ID.search(text)
    if found is None or SEPARATOR not in text:
        raise ParseError("no local node id or no second snapshot of the knet statistics")
    before_text, _, after_text = text.partition(f"\n{SEPARATOR}\n")
    local = int(found[1])
    before, after = _snapshot(before_text, local), _snapshot(after_text, local)
    if not before or before.keys() != after.keys():
        raise ParseError("the knet statistics name no peer, or other peers in the second snapshot")
    links = sorted({link for _, link in before})
    carrying = sorted({link for key, link in ((k, k[1]) for k in before) if after[key] > before[key]})
    return KnetTraffic(tuple(links), tuple(carrying))
