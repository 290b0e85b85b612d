"""The incus provider: lab nodes as system containers on an Incus cluster (provider.py), with its REST client
(api.py), engine config (config.py), the node image's import (image.py), per-owner projects (projects.py), lab
networks (network.py), a node's firmware delay (post.py), `halab cluster connect` (connect.py) and a local
three-member cluster for tests and benchmarks (localcluster.py).

Nothing is imported here: post.py runs as a process of its own and needs only what it names.
"""
