"""The HTTP contract as an OpenAPI 3.1 document, generated from the code: the operations table
(`operations`), the models' JSON schemas (`schemas`), assembled by `document`. Served at
`GET /api/openapi.json`; `make openapi` writes it to docs/openapi.json, which a test holds to
what the code generates. Imported only by the function that serves it (it loads pydantic)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from shared.openapi.document import build_document
from shared.web import Outcome


@cache
def document_text() -> str:
    """The document as docs/openapi.json holds it (built once per process)."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def document() -> dict[str, Any]:
    """The document, a copy of its own for each caller (a tool that loads it may change it)."""
    loaded: dict[str, Any] = json.loads(document_text())
    return loaded


class OpenApiDocument:
    """The document as an answer body."""

    def to_json(self) -> dict[str, Any]:
        return document()


def served() -> Outcome:
    """`GET /api/openapi.json`."""
    return Outcome(200, OpenApiDocument())
