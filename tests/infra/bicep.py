"""Reading infra/'s Bicep offline: every file parsed by pycep-parser (the parser checkov uses),
and the few facts the tests compare with the app and the docs: the app settings the Function App
gets, the role assignments, the parameters.

pycep gives each file as JSON: a reference to a parameter, variable or resource is the bare
name as a string (so is a literal string; the helpers only follow a string that names a
variable), a function call is {"function": {"type", "parameters"}}, an operator
{"operator": {"type", "operands"}}, and a conditional resource's body sits under
{"condition", "config"}. Comments are dropped, so the role comments are read from the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

from tests.helpers import ROOT

INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
API = INFRA / "app" / "api.bicep"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# `key: '<guid>' // Role Name` in a `roles` variable
_ROLE_LINE = re.compile(rf"^\s*(\w+): '({_GUID})'\s*//\s*(.+?)\s*$", re.MULTILINE)


def bicep_files(root: Path = INFRA) -> list[Path]:
    return sorted(root.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    """The file as pycep's JSON; raises lark's error, naming the line, when it does not parse."""
    return dict(BicepParser().parse(file_path=path))


def body(resource: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """A resource's body, and its condition (True when it has none)."""
    config = resource["config"]
    if "condition" in config and "config" in config:
        return config["config"], config["condition"]
    return config, True


def variable(doc: dict[str, Any], name: str) -> Any:
    return doc["variables"][name]["value"]


def walk(node: Any, doc: dict[str, Any], seen: frozenset[str] = frozenset()) -> Iterator[Any]:
    """Every node of an expression, following a string that names a variable of `doc` into
    that variable's value."""
    yield node
    if isinstance(node, str) and node in doc.get("variables", {}) and node not in seen:
        yield from walk(variable(doc, node), doc, seen | {node})
    elif isinstance(node, dict):
        for child in node.values():
            yield from walk(child, doc, seen)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child, doc, seen)


def references(node: Any, name: str, doc: dict[str, Any]) -> bool:
    """Whether the expression mentions `name` (a parameter or variable) anywhere."""
    return any(part == name for part in walk(node, doc))


def name_value_pairs(node: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """The `{name: '...', value: ...}` entries of an expression (app settings), by name."""
    return {
        part["name"]: part["value"]
        for part in walk(node, doc)
        if isinstance(part, dict)
        and set(part) == {"name", "value"}
        and isinstance(part["name"], str)
    }


def site(doc: dict[str, Any]) -> dict[str, Any]:
    (found,) = [r for r in doc["resources"].values() if r["type"] == "Microsoft.Web/sites"]
    return body(found)[0]


def app_settings(doc: dict[str, Any]) -> dict[str, Any]:
    """The Function App's app settings (siteConfig.appSettings), by name."""
    return name_value_pairs(site(doc)["properties"]["siteConfig"]["appSettings"], doc)


@dataclass(frozen=True)
class RoleAssignment:
    file: str
    resource: str
    role_id: str
    scope_type: str  # the resource type of the scope
    condition: str  # "always", or the parameter that grants it


def role_comments(text: str) -> dict[str, str]:
    """GUID -> the role name its comment gives, from `key: '<guid>' // Name` lines."""
    return {guid: name for _, guid, name in _ROLE_LINE.findall(text)}


def role_assignments(path: Path) -> list[RoleAssignment]:
    doc = parse(path)
    resources = doc.get("resources", {})
    found = []
    for symbol, resource in resources.items():
        if resource["type"] != ROLE_ASSIGNMENT:
            continue
        config, condition = body(resource)
        role_key = _role_key(config["properties"]["roleDefinitionId"])
        scope = config.get("scope")
        scope_type = (
            resources[scope]["type"] if isinstance(scope, str) and scope in resources else ""
        )
        found.append(
            RoleAssignment(
                file=str(path.relative_to(ROOT)),
                resource=symbol,
                role_id=variable(doc, "roles")[role_key],
                scope_type=scope_type,
                condition="always" if condition is True else str(condition),
            )
        )
    return found


def _role_key(role_definition_id: Any) -> str:
    """`roles.<key>` inside `subscriptionResourceId(..., roles.<key>)`."""
    for part in walk(role_definition_id, {}):
        if isinstance(part, dict) and part.get("operator", {}).get("type") == "property_accessor":
            operands = part["operator"]["operands"]
            if operands["operand_1"] == "roles":
                return str(operands["operand_2"])
    raise ValueError(f"no roles.<key> in {role_definition_id!r}")
