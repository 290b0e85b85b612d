"""The lab service: labs for users who are not root.

A root daemon (`halab service start`) listens on a Unix socket and knows each caller by the socket's peer
credentials (SO_PEERCRED), as libvirtd and the Docker engine do. The same `halab` command (and the
notebooks) talk to it when they do not run as root: each caller gets their own instance of a lab
(halab/spec/instances.py: own names, subnets, keys and state), sees and works on theirs only, within the
quotas of /etc/halab/service.toml (read by halab/runtime/quotas.py, since the incus provider gives a user's
project the same limits). Root keeps working on the host directly, as before.

    server.py     the daemon: who is asking, what they may do, and doing it (halab.access.LocalAccess)
    daemon.py     start, stop and status of the daemon process

The caller's side, requests and ServiceAccess, is one of the two doors to a lab: halab/access/service.py;
the wire both sides speak (the socket, one JSON object per line, its limits) is halab/access/protocol.py.
"""
