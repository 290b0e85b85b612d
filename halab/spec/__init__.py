"""The lab spec: what a lab is (model.py), read and checked from labs/<lab>.toml (loader.py, reader.py,
containers.py), moved into a user's slot (instances.py), and the lab-kind contract its graders register in
(kinds.py). Nothing here runs anything: the spec is the layer every other part stands on.

The names most callers want are here: ``from halab.spec import LabSpec, load_spec``.
"""

from halab.spec.loader import available_labs, load_spec, load_spec_file, parse_spec, spec_from_data, spec_path
from halab.spec.model import MEMBER_ROLE, PROVIDERS, CheckSpec, Disk, LabSpec, Network, Node, Task

__all__ = ["MEMBER_ROLE", "PROVIDERS", "CheckSpec", "Disk", "LabSpec", "Network", "Node", "Task", "available_labs",
           "load_spec", "load_spec_file", "parse_spec", "spec_from_data", "spec_path"]
