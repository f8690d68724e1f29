"""azure.yaml validates against azd's published JSON schema, vendored in this folder as
`azure.yaml.schema.json` (tests/infra/SOURCES.md says where it came from); the copy is checked
against the digest recorded there, so an edit to it is noticed.

The schema's `$ref`s to azd extensions' schemas (AI agent hosts) are not vendored: they are
reached only for those hosts, and resolving one here fails rather than fetch anything (by
default jsonschema would try to download it).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

from tests.helpers import ROOT

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "azure.yaml.schema.json"
SOURCES = HERE / "SOURCES.md"


def _offline(uri: str) -> Resource:
    """Nothing is fetched: a `$ref` outside the vendored file fails to resolve."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class mypy misreads


def schema_problems(document: Any, schema: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, registry=Registry(retrieve=_offline))  # type: ignore[call-arg]
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def test_a_document_azd_would_refuse_is_a_problem() -> None:
    services = {"api": {"project": ".", "language": "python", "host": "function"}}
    assert schema_problems({"name": "my-app", "services": services}, schema()) == []
    assert schema_problems({"name": "My App", "services": services}, schema()) == [
        "name: 'My App' does not match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"
    ]
    assert schema_problems({"services": services}, schema()) == [
        "(root): 'name' is a required property"
    ]


def test_the_vendored_schema_is_the_recorded_one() -> None:
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    recorded = re.search(r"sha256 `([0-9a-f]{64})`", SOURCES.read_text(encoding="utf-8"))
    assert recorded is not None and recorded[1] == digest
    assert schema()["$id"].endswith("/schemas/v1.0/azure.yaml.json")


def test_azure_yaml_is_valid_for_azd() -> None:
    document = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert schema_problems(document, schema()) == []
    assert document["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    assert document["infra"]["path"] == "infra" and (ROOT / "infra" / "main.bicep").exists()
