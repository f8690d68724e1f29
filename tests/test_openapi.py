"""The OpenAPI document is a product of the code: docs/openapi.json is what the code generates
(`make openapi`), and the operations table names exactly the HTTP functions the host indexes,
with their routes, methods and auth levels."""

from __future__ import annotations

import tomllib

import azure.functions as func

import function_app
from local.host import indexed_functions
from shared.openapi import document_text
from shared.openapi.document import VERSION
from shared.openapi.operations import OPERATIONS
from tests.helpers import ROOT

AUTH_LEVELS = {
    func.AuthLevel.FUNCTION: "function",
    func.AuthLevel.ADMIN: "admin",
    func.AuthLevel.ANONYMOUS: "anonymous",
}


def test_docs_openapi_json_is_what_the_code_generates():
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == document_text(), "docs/openapi.json is stale: run `make openapi`"


def test_the_document_describes_every_http_function_as_the_host_indexes_it():
    indexed = {
        fn.get_function_name(): (
            fn.get_trigger().route,
            [str(method.value).lower() for method in fn.get_trigger().methods],
            AUTH_LEVELS[fn.get_trigger().auth_level],
        )
        for fn in indexed_functions(function_app.app)
        if fn.is_http_function()
    }
    described = {op.function: (op.route, [op.method], op.auth) for op in OPERATIONS}
    assert described == indexed


def test_the_document_carries_the_projects_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert VERSION == project["project"]["version"]
