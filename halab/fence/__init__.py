"""Fencing for lab nodes: a power switch service on the lab host (daemon.py) that the fence_halab agent
inside the nodes talks to (halab/image/files/usr/sbin/fence_halab)."""
