"""`cibadmin --query` -> the configuration part of the CIB: properties, resources and constraints."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from itertools import pairwise

from graders.collectors import xml_root


@dataclass(frozen=True)
class Primitive:
    id: str
    agent: str  # class:provider:type or class:type, as crm_mon prints it
    params: dict[str, str]
    group: str | None
    clone: str | None
    meta: dict[str, str] = field(default_factory=dict)  # meta attributes (allow-migrate, resource-stickiness...)
    # The intervals of its enabled monitor operations, as written ("2s", "10", "0"): a resource whose attribute
    # or health matters must be monitored (interval > 0), not only started.
    monitors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expression:
    """One node-attribute test of a rule: ``pingd lte 0``, ``not_defined pingd``."""

    attribute: str
    operation: str  # defined | not_defined | eq | ne | lt | lte | gt | gte
    value: str = ""


@dataclass(frozen=True)
class Rule:
    """A location rule: where its expressions hold, the node gets ``score`` (or the value of
    ``score_attribute``, a node attribute)."""

    score: str
    score_attribute: str
    boolean_op: str  # and | or
    expressions: tuple[Expression, ...]
    role: str = ""  # the role the rule applies to (Promoted, or the old Master), empty for any


@dataclass(frozen=True)
class Constraint:
    kind: str  # rsc_location | rsc_colocation | rsc_order
    id: str
    attributes: dict[str, str]
    sets: tuple[tuple[str, ...], ...] = ()  # resource sets, in order, when the constraint uses them
    rules: tuple[Rule, ...] = ()  # location rules
    set_options: tuple[dict[str, str], ...] = ()  # each set's own attributes (role, action, sequential...)

    def pairs(self) -> list[dict[str, str]]:
        """The constraint as two-resource colocations or orders, in the attributes a plain one has (``rsc``,
        ``with-rsc``, ``with-rsc-role``; ``first``, ``then``, ``first-action``...), so that a check reads
        ``crm configure colocation c inf: fs ip drbd:Promoted`` or ``pcs constraint order set ...`` (resource
        sets) as it reads the plain form. Pacemaker's semantics (Pacemaker Explained, "Resource sets"): in a
        sequential set each member is placed with, and started after, the one before it; each set is colocated
        with the set after it and ordered before it. Where a set leaves the tie uncertain (a colocation with a
        non-sequential set of several members: any one of them will do; an order after a set that needs only one
        of its members, require-all=false) no pair is made: a check must not count a tie Pacemaker may not keep.
        """
        if self.kind not in ("rsc_colocation", "rsc_order"):
            return []
        if not self.sets:
            return [self.attributes]
        common = {k: v for k, v in self.attributes.items() if k in ("score", "kind", "symmetrical")}
        return [{**common, **pair} for pair in _set_pairs(self.kind, self.sets, self.set_options)]


def _false(value: str | None) -> bool:
    return (value or "true").lower() in ("false", "0", "no", "off")


def _set_pairs(kind: str, sets: tuple[tuple[str, ...], ...],
               options: tuple[dict[str, str], ...]) -> list[dict[str, str]]:
    """(dependent, anchor) pairs: in a sequential set, each member after the one before it; across sets, for a
    colocation each member of a set with each member of the next set (unless that one is a non-sequential set of
    several: any one member would do), for an order each member of a set after each member of the set before
    it (unless that one needs only one of several members, require-all=false)."""
    def role(opts: dict[str, str], key: str) -> dict[str, str]:
        return {key: opts["role"]} if opts.get("role") else {}

    def action(opts: dict[str, str], key: str) -> dict[str, str]:
        return {key: opts["action"]} if opts.get("action") else {}

    def pair(dependent: str, dep_opts: dict[str, str], anchor: str, anchor_opts: dict[str, str]) -> dict[str, str]:
        if kind == "rsc_colocation":
            return {"rsc": dependent, "with-rsc": anchor, **role(dep_opts, "rsc-role"),
                    **role(anchor_opts, "with-rsc-role")}
        return {"first": anchor, "then": dependent, **action(anchor_opts, "first-action"),
                **action(dep_opts, "then-action")}

    both = list(zip(sets, options or tuple({} for _ in sets), strict=True))
    pairs = [pair(later, opts, earlier, opts) for members, opts in both if not _false(opts.get("sequential"))
             for earlier, later in pairwise(members)]
    for (before, before_opts), (after, after_opts) in pairwise(both):
        if kind == "rsc_colocation" and not (_false(after_opts.get("sequential")) and len(after) > 1):
            pairs += [pair(a, before_opts, b, after_opts) for a in before for b in after]
        elif kind == "rsc_order" and not (_false(before_opts.get("require-all")) and len(before) > 1):
            pairs += [pair(b, after_opts, a, before_opts) for a in before for b in after]
    return pairs


@dataclass
class Cib:
    properties: dict[str, str] = field(default_factory=dict)
    primitives: dict[str, Primitive] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    clones: dict[str, str] = field(default_factory=dict)  # clone id -> child id
    constraints: list[Constraint] = field(default_factory=list)
    # Meta attributes by resource id: primitives, groups and clones (a group's priority lives on the group).
    resource_meta: dict[str, dict[str, str]] = field(default_factory=dict)
    resource_defaults: dict[str, str] = field(default_factory=dict)  # rsc_defaults
    # Permanent node attributes by node name (the nodes section): promotion scores that agents such as PAF keep
    # with --lifetime forever, a node's standby...
    node_attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def meta(self, resource_id: str, name: str) -> str | None:
        """A resource's meta attribute as Pacemaker applies it: its own, else its group's or clone's, else the
        resource defaults."""
        primitive = self.primitives.get(resource_id)
        holders = [resource_id, *((primitive.group, primitive.clone) if primitive else ())]
        for holder in filter(None, holders):
            value = self.resource_meta.get(holder, {}).get(name)
            if value is not None:
                return value
        return self.resource_defaults.get(name)

    def by_agent(self, *types: str) -> list[Primitive]:
        """Primitives whose agent type (the last part) is one of ``types`` (case-insensitive)."""
        wanted = {t.lower() for t in types}
        return [p for p in self.primitives.values() if p.agent.rsplit(":", 1)[-1].lower() in wanted]

    def top(self, resource_id: str) -> str:
        """The id constraints use for a primitive: its clone if cloned, else itself (groups separately)."""
        primitive = self.primitives.get(resource_id)
        return primitive.clone if primitive and primitive.clone else resource_id


def _params(element: ET.Element, kind: str = "instance_attributes") -> dict[str, str]:
    return {nv.get("name", ""): nv.get("value", "") for nv in element.iterfind(f"{kind}/nvpair")}


def _rule(element: ET.Element) -> Rule:
    expressions = tuple(Expression(e.get("attribute", ""), e.get("operation", ""), e.get("value", ""))
                        for e in element.iterfind("expression"))
    return Rule(element.get("score", ""), element.get("score-attribute", ""), element.get("boolean-op", "and"),
                expressions, element.get("role", ""))


def _primitive(element: ET.Element, group: str | None, clone: str | None) -> Primitive:
    parts = [element.get("class", ""), element.get("provider", ""), element.get("type", "")]
    agent = ":".join(p for p in parts if p)
    monitors = tuple(op.get("interval", "0") for op in element.iterfind("operations/op")
                     if op.get("name") == "monitor" and op.get("enabled", "true").lower() not in ("false", "0", "no"))
    return Primitive(element.get("id", "?"), agent, _params(element), group, clone, _params(element, "meta_attributes"),
                     monitors)


def parse(text: str) -> Cib:
    configuration = xml_root(text, "cibadmin", "cib", "configuration").find("configuration")
    assert configuration is not None
    cib = Cib()
    for nvpair in configuration.iterfind("crm_config/cluster_property_set/nvpair"):
        cib.properties[nvpair.get("name", "")] = nvpair.get("value", "")
    for nvpair in configuration.iterfind("rsc_defaults/meta_attributes/nvpair"):
        cib.resource_defaults[nvpair.get("name", "")] = nvpair.get("value", "")
    for node in configuration.iterfind("nodes/node"):
        name = node.get("uname") or node.get("id", "?")
        cib.node_attributes[name] = {nv.get("name", ""): nv.get("value", "")
                                     for nv in node.iterfind("instance_attributes/nvpair")}
    resources = configuration.find("resources")
    for element in resources if resources is not None else []:
        _add_resource(cib, element, None, None)
    constraints = configuration.find("constraints")
    for element in constraints if constraints is not None else []:
        resource_sets = list(element.iterfind("resource_set"))
        sets = tuple(tuple(ref.get("id", "") for ref in rset.iterfind("resource_ref")) for rset in resource_sets)
        rules = tuple(_rule(rule) for rule in element.iterfind("rule"))
        cib.constraints.append(Constraint(element.tag, element.get("id", "?"), dict(element.attrib), sets, rules,
                                          tuple(dict(rset.attrib) for rset in resource_sets)))
    return cib


def _add_resource(cib: Cib, element: ET.Element, group: str | None, clone: str | None) -> None:
    if element.tag in ("primitive", "group", "clone", "master"):
        cib.resource_meta[element.get("id", "?")] = _params(element, "meta_attributes")
    if element.tag == "primitive":
        cib.primitives[element.get("id", "?")] = _primitive(element, group, clone)
    elif element.tag == "group":
        group_id = element.get("id", "?")
        cib.groups[group_id] = [p.get("id", "?") for p in element.iterfind("primitive")]
        for child in element.iterfind("primitive"):
            _add_resource(cib, child, group_id, clone)
    elif element.tag in ("clone", "master"):
        clone_id = element.get("id", "?")
        for child in element:
            if child.tag in ("primitive", "group"):
                cib.clones[clone_id] = child.get("id", "?")
                _add_resource(cib, child, group, clone_id)
