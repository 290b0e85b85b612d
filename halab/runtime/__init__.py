"""A lab's life on this host: its state on disk, its networks, SSH to its nodes, the faults halab injects,
the user slots its instances live in, and the users' quotas (the lab service's config file, which the
service checks and the incus provider hands to the engine)."""
