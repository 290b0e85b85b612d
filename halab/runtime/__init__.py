"""A lab's life on this host: its state on disk, its networks, SSH to its nodes, the faults halab injects,
and the user slots its instances live in."""
