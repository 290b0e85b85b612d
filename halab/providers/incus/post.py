"""A node's "firmware" delay after power-on, then its boot (see nspawn/provider.py for why nodes take their time).

    python -m halab.providers.incus.post LAB NODE SECONDS

Started detached by IncusProvider.power_on, which has recorded the node as powering on (the state's
``post``); while that record is there the node counts as on. A power cut meanwhile takes the record away, and
then nothing boots.
"""

from __future__ import annotations

import contextlib
import sys
import time

from halab.errors import HalabError
from halab.runtime.state import lab_dir, load_state, power_lock


def main(argv: list[str]) -> int:
    lab, node, seconds = argv[0], argv[1], float(argv[2])
    time.sleep(seconds)
    from halab.providers.incus.provider import IncusProvider, set_post

    try:
        state = load_state(lab)
        if state is None:
            return 0
        provider = IncusProvider()
        with power_lock(lab, node):
            state = load_state(lab)
            if state is None or node not in (state.provider_data.get("post") or {}):
                return 0  # powered off again during the delay, or the lab is gone
            try:
                provider._state_action(state, node, "start")
            finally:
                set_post(state, node, None)
    except HalabError as exc:
        with contextlib.suppress(OSError), open(lab_dir(lab) / "power.log", "a") as log:  # the lab may be gone
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {node}: power-on failed: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
