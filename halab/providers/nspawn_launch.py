"""The container launcher's old name: `python -m halab.providers.nspawn_launch -- systemd-nspawn ...` runs the
launcher (halab/providers/nspawn/launch.py) as that command always did.

Kept for an upgrade while a lab is up: a lab service or power switch started by the older halab still runs
its code, and powers nodes on with this name. The provider knows a launcher by either name (LAUNCHERS).
"""

from __future__ import annotations

import sys

from halab.providers.nspawn.launch import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
