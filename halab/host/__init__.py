"""What touches the host's kernel and nothing else: network namespaces (netns.py), mounts and trees (fs.py),
the firewall chains of lab links (firewall.py), cgroups, ID-mapped user namespaces (idmap.py), processes
(procs.py), running as another user (runas.py) and lock files (locks.py). Nothing here knows a lab spec."""
