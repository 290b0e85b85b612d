"""A three-member Incus cluster on this host for a test module (halab/providers/incus/localcluster.py), with
halab pointed at it ($HALAB_INCUS_CONFIG) while it runs, and checked to leave nothing behind once stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from halab import paths
from halab.providers.incus.localcluster import LocalCluster
from tests.support.census import incus_cluster_leftovers

ENVIRONMENT = ("HALAB_INCUS_CONFIG", "HALAB_SERVICE_CONFIG")


@contextmanager
def local_cluster(name: str, size: int = 3) -> Iterator[LocalCluster]:
    """The cluster in <state dir>/<name>; the environment variables a test may set for it are restored."""
    saved = {key: os.environ.get(key) for key in ENVIRONMENT}
    local = LocalCluster(paths.state_dir() / name, size=size)
    try:
        local.start()
        os.environ["HALAB_INCUS_CONFIG"] = str(local.config_file)
        yield local
    finally:
        local.stop()
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        assert incus_cluster_leftovers(local.root) == []
