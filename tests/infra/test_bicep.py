"""infra/ against the app and the docs, offline: every Bicep file parses; the Function App runs
the project's Python; it gets every setting the app requires and none the app does not read
(platform settings aside); the host's body limit is the app's; the status link secret is a
generated secure parameter; every role assignment names a built-in role by a commented GUID, on
one resource; docs/operations.md lists exactly those roles and exactly the template's
parameters.

Each check is a function returning the problems it finds; the tests run it on the project's
files and, first, on a deliberately broken input, to prove it can fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet

from shared import constants as c
from shared.settings import SETTING_NAMES, load_settings
from tests.helpers import ROOT
from tests.infra.bicep import (
    API,
    INFRA,
    MAIN,
    RoleAssignment,
    app_settings,
    bicep_files,
    body,
    name_value_pairs,
    parse,
    references,
    role_assignments,
    role_comments,
    site,
    variable,
)

OPERATIONS = ROOT / "docs" / "operations.md"

# Settings the Functions host and its Python worker read themselves, not the app: the template
# may set names with these prefixes although shared/settings.py does not read them.
PLATFORM_PREFIXES = (
    "FUNCTIONS_",  # the host (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT)
    "AzureWebJobsStorage__",  # the host's identity-based storage connection
    "APPLICATIONINSIGHTS_",  # the host's telemetry (connection and Entra authentication)
    "PYTHON_",  # the Python worker (PYTHON_THREADPOOL_THREAD_COUNT)
)
# Settings the app reads that App Service itself sets: a template that set them would be wrong.
SET_BY_THE_PLATFORM = {"WEBSITE_HOSTNAME", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT"}
SET_BY_THE_PLATFORM |= {"MSI_SECRET"}
# What a production deployment needs beyond what `/api/health` counts missing: the identity,
# the registry's enforcement, the host's body limit, and the host's identity-based storage.
PRODUCTION_SETTINGS = {
    "AZURE_CLIENT_ID",
    "REQUIRE_REGISTERED_JOBS",
    "MAX_REQUEST_BYTES",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AzureWebJobsStorage__blobServiceUri",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}

# Azure's built-in roles this template may assign: definition GUID -> name.
BUILTIN_ROLES = {
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",
    "a001fd3d-188f-4b5d-821b-7da978bf7442": "Cognitive Services OpenAI Contributor",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}


# --- what the app reads and requires --------------------------------------------------------


def binding_settings(function_app: str) -> set[str]:
    """Settings named in binding expressions (`%NAME%`) of function_app.py."""
    return set(re.findall(r"%([A-Za-z_][A-Za-z0-9_]*)%", function_app))


def app_reads() -> set[str]:
    return set(SETTING_NAMES) | binding_settings((ROOT / "function_app.py").read_text())


def app_requires() -> set[str]:
    """What `/api/health` counts missing on an empty configuration (storage in its
    identity-based form: shared keys are off), the timer's schedule, and production's own."""
    missing = set(load_settings({}).missing())
    missing = {
        "AzureWebJobsStorage__tableServiceUri" if n == "AzureWebJobsStorage" else n for n in missing
    }
    return missing | binding_settings((ROOT / "function_app.py").read_text()) | PRODUCTION_SETTINGS


def settings_problems(template: Iterable[str], reads: set[str], requires: set[str]) -> list[str]:
    names = set(template)
    problems = [
        f"{n}: required by the app, not set by the template" for n in sorted(requires - names)
    ]
    problems += [
        f"{n}: set by the template, read by neither the app nor the platform"
        for n in sorted(names - reads)
        if not n.startswith(PLATFORM_PREFIXES)
    ]
    problems += [
        f"{n}: the platform sets it, not the template" for n in sorted(names & SET_BY_THE_PLATFORM)
    ]
    return problems


def test_a_missing_required_setting_or_an_unread_one_is_a_problem() -> None:
    reads, requires = {"A", "B", "WEBSITE_HOSTNAME"}, {"A"}
    assert settings_problems(["A", "B", "FUNCTIONS_X", "PYTHON_Y"], reads, requires) == []
    assert settings_problems(["B", "TYPO", "WEBSITE_HOSTNAME"], reads, requires) == [
        "A: required by the app, not set by the template",
        "TYPO: set by the template, read by neither the app nor the platform",
        "WEBSITE_HOSTNAME: the platform sets it, not the template",
    ]


def test_a_bicep_file_pycep_cannot_read_is_a_problem(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.bicep", tmp_path / "bad.bicep"
    good.write_text("param flag bool\nvar x = flag ? 'a' : 'b'\n")
    # a ternary across lines: valid Bicep, but checkov's parser (pycep) cannot read it
    bad.write_text("param flag bool\nvar x = flag\n  ? 'a'\n  : 'b'\n")
    assert parse(good)["variables"]["x"]
    with pytest.raises(Exception, match="line 3"):
        parse(bad)


def test_every_bicep_file_parses() -> None:
    files = bicep_files()
    assert MAIN in files and API in files
    for path in files:
        assert parse(path).get("resources") or parse(path).get("modules"), path


def test_the_template_sets_what_the_app_requires_and_nothing_it_does_not_read() -> None:
    settings = app_settings(parse(API))
    assert "DISCOVERY_SCHEDULE" in app_requires()
    assert settings_problems(settings, app_reads(), app_requires()) == []


def test_public_base_url_is_set_only_when_a_parameter_gives_one() -> None:
    doc = parse(API)
    assert "PUBLIC_BASE_URL" not in name_value_pairs(variable(doc, "coreSettings"), doc)
    conditional = variable(doc, "publicBaseUrlSetting")["operator"]
    assert conditional["type"] == "conditional"
    assert conditional["operands"]["condition"] == {
        "function": {"type": "empty", "parameters": {"item_to_test": "publicBaseUrl"}}
    }
    assert conditional["operands"]["true_value"] == []
    assert "PUBLIC_BASE_URL" in app_settings(doc)


def test_production_values() -> None:
    settings = app_settings(parse(API))
    assert settings["REQUIRE_REGISTERED_JOBS"] == "true"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert (
        settings["AZURE_CLIENT_ID"]
        == settings["AzureWebJobsStorage__clientId"]
        == "identityClientId"
    )
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )


def test_the_host_body_limit_is_the_apps_max_request_bytes() -> None:
    main, api = parse(MAIN), parse(API)
    assert main["parameters"]["maxRequestBytes"]["default"] == c.DEFAULT_MAX_REQUEST_BYTES
    assert body(main["modules"]["api"])[0]["params"]["maxRequestBytes"] == "maxRequestBytes"
    settings = app_settings(api)
    limit = {"function": {"type": "string", "parameters": {"value_to_convert": "maxRequestBytes"}}}
    assert settings["MAX_REQUEST_BYTES"] == settings["FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"] == limit


def test_the_function_app_runs_the_projects_python() -> None:
    requires_python = re.search(
        r'^requires-python = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE
    )
    assert requires_python is not None
    minors = [f"3.{n}" for n in range(8, 20) if f"3.{n}.0" in SpecifierSet(requires_python[1])]
    assert len(minors) == 1, minors
    assert (
        f"sys.version_info[:2] != ({minors[0].replace('.', ', ')})"
        in (ROOT / "Makefile").read_text()
    )
    main = parse(MAIN)
    assert variable(main, "pythonVersion") == minors[0]
    assert body(main["modules"]["api"])[0]["params"]["pythonVersion"] == "pythonVersion"
    app = site(parse(API))
    assert app["kind"] == "functionapp,linux"
    assert app["properties"]["functionAppConfig"]["runtime"] == {
        "name": "python",
        "version": "pythonVersion",
    }
    (plan,) = [
        r for r in parse(API)["resources"].values() if r["type"] == "Microsoft.Web/serverfarms"
    ]
    assert body(plan)[0]["sku"] == {"tier": "FlexConsumption", "name": "FC1"}


def test_the_thread_pool_is_the_per_instance_concurrency() -> None:
    api = parse(API)
    scale = site(api)["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["triggers"] == {"http": {"perInstanceConcurrency": "perInstanceConcurrency"}}
    threads = {
        "function": {"type": "string", "parameters": {"value_to_convert": "perInstanceConcurrency"}}
    }
    assert app_settings(api)["PYTHON_THREADPOOL_THREAD_COUNT"] == threads


def test_the_concurrency_fits_the_apps_connection_pool() -> None:
    """Each run in flight holds one connection to Azure OpenAI: more threads than the pool
    keeps would open and drop connections (urllib3's "Connection pool is full")."""
    param = parse(MAIN)["parameters"]["perInstanceConcurrency"]
    assert 1 <= param["default"] <= c.POOL_MAXSIZE


def test_the_status_link_secret_is_a_generated_secure_parameter() -> None:
    main, api = parse(MAIN), parse(API)
    param = main["parameters"]["statusLinkSecret"]
    decorators = {d["type"]: d.get("argument") for d in param["decorators"]}
    assert "secure" in decorators and param["default"] is None
    assert decorators["min_length"] >= c.STATUS_LINK_SECRET_MIN_LEN
    generate = decorators["metadata"]["azd"]
    assert generate["type"] == "generate"
    assert generate["config"]["length"] >= c.STATUS_LINK_SECRET_MIN_LEN
    assert "secure" in {d["type"] for d in api["parameters"]["statusLinkSecret"]["decorators"]}
    assert app_settings(api)["STATUS_LINK_SECRET"] == "statusLinkSecret"
    # azd generates it only when the parameters file does not map it
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert "statusLinkSecret" not in mapped


# --- roles -------------------------------------------------------------------------------------


def role_problems(assignments: Iterable[RoleAssignment], comments: dict[str, str]) -> list[str]:
    """Role assignments whose GUID is no built-in role we know, whose comment does not name it,
    or that have no resource scope."""
    problems = []
    for a in assignments:
        where = f"{a.file}: {a.resource}"
        name = BUILTIN_ROLES.get(a.role_id)
        if name is None:
            problems.append(f"{where}: {a.role_id} is not a known built-in role")
        elif comments.get(a.role_id) != name:
            problems.append(f"{where}: the comment of {a.role_id} should say {name!r}")
        if not a.scope_type:
            problems.append(f"{where}: no resource scope (the narrowest scope is one resource)")
    return problems


def documented_roles(markdown: str) -> set[tuple[str, str, str]]:
    """(role, scope type, condition) of each row of the table under `## Roles`."""
    section = markdown.split("\n## Roles\n", 1)[1].split("\n## ", 1)[0]
    rows = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("**"):
            continue
        scope = re.search(r"`(Microsoft\.[A-Za-z]+/[A-Za-z/]+)`", cells[1])
        condition = re.fullmatch(r"`(\w+)=true`", cells[2])
        rows.add(
            (
                cells[0].strip("*"),
                scope[1] if scope else "",
                condition[1] if condition else cells[2],
            )
        )
    return rows


def template_roles(assignments: Iterable[RoleAssignment]) -> set[tuple[str, str, str]]:
    return {(BUILTIN_ROLES[a.role_id], a.scope_type, a.condition) for a in assignments}


def all_role_assignments() -> list[RoleAssignment]:
    return [a for path in bicep_files() for a in role_assignments(path)]


def all_role_comments() -> dict[str, str]:
    comments: dict[str, str] = {}
    for path in bicep_files():
        comments |= role_comments(path.read_text())
    return comments


def test_a_role_with_an_unknown_guid_a_wrong_comment_or_no_scope_is_a_problem() -> None:
    good = RoleAssignment(
        "f", "r", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "Microsoft.X/y", "always"
    )
    comments = role_comments("  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' // Reader\n")
    assert role_problems([good], comments) == []
    unknown = RoleAssignment(
        "f", "u", "00000000-0000-0000-0000-000000000000", "Microsoft.X/y", "always"
    )
    wide = RoleAssignment("f", "w", good.role_id, "", "always")
    assert role_problems([unknown, wide], {good.role_id: "Owner"}) == [
        "f: u: 00000000-0000-0000-0000-000000000000 is not a known built-in role",
        "f: w: the comment of acdd72a7-3385-48ef-bd42-f606fba81ae7 should say 'Reader'",
        "f: w: no resource scope (the narrowest scope is one resource)",
    ]


def test_the_docs_tables_are_read_as_written() -> None:
    markdown = (
        "# Ops\n\n### Parameters\n\n"
        "| parameter | azd variable | default | meaning |\n|---|---|---|---|\n"
        "| `batchJobs` | `BATCH_JOBS` | `false` | x |\n| `secret` | generated | – | y |\n\n"
        "## Roles\n\n| role | on | granted | for |\n|---|---|---|---|\n"
        "| **Reader** | the resource (`Microsoft.X/accounts`) | `batchJobs=true` | z |\n"
        "| **Owner** | the group | always | w |\n\n"
        "## Next\n| **Not a role** | (`Microsoft.Y/z`) | always | |\n"
    )
    assert documented_parameters(markdown) == {"batchJobs": "BATCH_JOBS", "secret": ""}
    assert documented_roles(markdown) == {
        ("Reader", "Microsoft.X/accounts", "batchJobs"),
        ("Owner", "", "always"),
    }


def test_every_role_assignment_is_a_commented_built_in_role_on_one_resource() -> None:
    assignments = all_role_assignments()
    assert len(assignments) >= 5
    assert role_problems(assignments, all_role_comments()) == []


def test_the_docs_roles_table_is_the_templates_roles() -> None:
    documented = documented_roles(OPERATIONS.read_text())
    assert (
        "Cognitive Services OpenAI User",
        "Microsoft.CognitiveServices/accounts",
        "always",
    ) in documented
    assert documented == template_roles(all_role_assignments())


def test_contributor_only_with_batch_jobs_and_no_reader() -> None:
    roles = template_roles(all_role_assignments())
    assert (
        "Cognitive Services OpenAI Contributor",
        "Microsoft.CognitiveServices/accounts",
        "batchJobs",
    ) in roles
    assert not any(name == "Reader" for name, _, _ in roles)  # OpenAI User reads deployments


# --- parameters --------------------------------------------------------------------------------


def documented_parameters(markdown: str) -> dict[str, str]:
    """parameter -> azd variable, from the table under `### Parameters`."""
    section = markdown.split("\n### Parameters\n", 1)[1].split("\n#", 1)[0]
    found = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`(\w+)`", cells[0]) if cells else None
        if name and len(cells) >= 2:
            variable_cell = re.fullmatch(r"`(\w+)`", cells[1])
            found[name[1]] = variable_cell[1] if variable_cell else ""
    return found


def mapped_parameters(parameters_json: dict[str, Any]) -> dict[str, str]:
    """parameter -> the azd environment variable main.parameters.json maps it to."""
    found = {}
    for name, entry in parameters_json["parameters"].items():
        match = re.fullmatch(r"\$\{(\w+)\}", str(entry["value"]))
        found[name] = match[1] if match else ""
    return found


def test_the_docs_parameters_table_is_the_templates_parameters() -> None:
    params = set(parse(MAIN)["parameters"])
    mapped = mapped_parameters(json.loads((INFRA / "main.parameters.json").read_text()))
    documented = documented_parameters(OPERATIONS.read_text())
    assert set(mapped) <= params
    assert set(documented) == params
    assert {name: documented[name] for name in mapped} == mapped


@pytest.mark.parametrize("folder", ["infra/", "scripts/", "docs/", "tests/", "bench/", "local/"])
def test_the_function_package_leaves_out(folder: str) -> None:
    lines = {line.strip() for line in (ROOT / ".funcignore").read_text().splitlines()}
    assert folder in lines


def test_main_uses_every_module_and_grants_openai_roles_in_its_resource_group() -> None:
    main = parse(MAIN)
    used = {m["detail"]["path"] for m in main["modules"].values()}
    assert used == {str(p.relative_to(INFRA)) for p in bicep_files(INFRA / "app")}
    scope = body(main["modules"]["openAiRbac"])[0]["scope"]
    assert references(scope, "openAiResourceGroupName", main)
