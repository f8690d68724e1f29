"""infra/monitoring/ against the app's telemetry, offline: queries.kql has the runs' queries (a)
to (e), each in Application Insights' classic schema with its Log Analytics form in a comment;
every metric name and customDimensions key they read is one shared/telemetry/names.py defines
(and a span query reads none that Application Insights drops from a span); workbook.json is a
`Notebook/1.0` workbook showing those same queries over a TimeRange parameter; monitoring.bicep
deploys it on the Application Insights component; api.bicep keeps the Python worker's own
telemetry off (the app configures its pipeline itself: shared/telemetry/pipeline.py).

Each check is a function returning the problems it finds; the tests run it on the project's
files and, first, on a deliberately broken input, to prove it can fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.telemetry import names as n
from tests.infra.bicep import API, INFRA, app_settings, body, parse

MONITORING = INFRA / "monitoring"
QUERIES = MONITORING / "queries.kql"
WORKBOOK = MONITORING / "workbook.json"
MONITORING_BICEP = INFRA / "app" / "monitoring.bicep"

# The queries operations relies on: (a) tokens, (b) failures, (c) throttling, (d) duration,
# (e) runs and failure rate. queries.kql may hold more ((d2): percentiles).
REQUIRED_LABELS = {"a", "b", "c", "d", "e"}
METRICS = {n.TOKEN_USAGE, n.OPERATION_DURATION, n.RUNS, n.THROTTLED}
# The attribute names names.py defines: its dotted strings (semconv's and `polysync.*`), less
# the metric names and the one value among them (gen_ai.provider.name's `azure.ai.openai`).
ATTRIBUTES = (
    {
        value
        for name, value in vars(n).items()
        if not name.startswith("_") and isinstance(value, str) and "." in value
    }
    - METRICS
    - {n.PROVIDER}
)
# Application Insights keeps none of these among a span's customDimensions.
DROPPED_FROM_SPANS = (n.ERROR_TYPE, "http.", "server.")


@dataclass(frozen=True)
class Schema:
    """One of the two forms of the same tables: column names differ, rows do not."""

    metrics: str
    spans: str
    dimensions: str  # the dynamic column of the attributes
    name: str
    foreign: tuple[str, ...]  # columns of the other schema: a sign of a half-translated query


CLASSIC = Schema(
    "customMetrics",
    "dependencies",
    "customDimensions",
    "name",
    ("AppMetrics", "AppDependencies", "Properties", "TimeGenerated", "ItemCount", "DurationMs"),
)
LOG_ANALYTICS = Schema(
    "AppMetrics",
    "AppDependencies",
    "Properties",
    "Name",
    ("customMetrics", "dependencies", "customDimensions", "timestamp", "itemCount", "valueSum"),
)
_LITERAL = r"""(?:"[^"]*"|'[^']*')"""
_TIME_FILTER = re.compile(r"\| where timestamp > ago\(\d+[dhm]\)")
_WORKBOOK_TIME_FILTER = "| where timestamp {TimeRange}"
_TITLE = re.compile(r"^// title: \((\w+)\) (\S.*)$")


def literals(text: str) -> list[str]:
    return [s[1:-1] for s in re.findall(_LITERAL, text)]


def metric_names(query: str, schema: Schema) -> list[str]:
    """The literals of `name == "..."`, `name =~ "..."` and `name in (...)`."""
    column = re.escape(schema.name)
    found = re.findall(rf"\b{column}\s*(?:==|=~)\s*({_LITERAL})", query)
    for group in re.findall(rf"\b{column}\s+in~?\s*\(([^)]*)\)", query):
        found += re.findall(_LITERAL, group)
    return [s[1:-1] for s in found]


def dimension_keys(query: str, schema: Schema) -> tuple[list[str], int]:
    """The keys of `customDimensions["..."]` and `customDimensions.['...']`, and how many times
    the column is read otherwise (`customDimensions.key`, a computed key)."""
    column = re.escape(schema.dimensions)
    keys = literals(" ".join(re.findall(rf"\b{column}\s*\.?\s*\[\s*({_LITERAL})\s*\]", query)))
    return keys, len(re.findall(rf"\b{column}\b", query)) - len(keys)


def query_problems(query: str, schema: Schema, where: str) -> list[str]:
    """A query's table, metric names and attribute keys against names.py."""
    table = query.split(maxsplit=1)[0] if query.strip() else ""
    if table not in (schema.metrics, schema.spans):
        return [f"{where}: reads {table!r}, not {schema.metrics} or {schema.spans}"]
    problems = []
    names = metric_names(query, schema)
    if table == schema.metrics:
        problems += [f"{where}: {m!r} is no metric of names.py" for m in names if m not in METRICS]
        if not names:
            problems.append(f"{where}: reads {table} without naming a metric")
    elif names:
        problems.append(f"{where}: filters spans by name (read {schema.dimensions} instead)")
    keys, unkeyed = dimension_keys(query, schema)
    problems += [f"{where}: {k!r} is no attribute of names.py" for k in keys if k not in ATTRIBUTES]
    if unkeyed:
        problems.append(f'{where}: reads {schema.dimensions} without a literal ["key"]')
    if table == schema.spans:
        problems += [
            f"{where}: Application Insights drops {key!r} from a span's {schema.dimensions}"
            for key in keys
            if key.startswith(DROPPED_FROM_SPANS)
        ]
    problems += [
        f"{where}: {column} belongs to the other schema"
        for column in schema.foreign
        if re.search(rf"\b{column}\b", query)
    ]
    return problems


# --- queries.kql -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    label: str  # "a" of `// title: (a) ...`
    title: str  # what follows the label
    kusto: str  # the query, Application Insights' classic schema
    log_analytics: str  # its `// Log Analytics:` form, uncommented
    problems: tuple[str, ...]  # what parsing found wrong


def parse_queries(text: str) -> list[Query]:
    """Each `// title:` line, its comments, then its query: lines up to the next blank line
    (the Logs editor runs the query the cursor is in, up to a blank line)."""
    queries = []
    for chunk in re.split(r"^(?=// title:)", text, flags=re.MULTILINE)[1:]:
        head, *lines = chunk.rstrip().splitlines()
        problems = []
        match = _TITLE.match(head)
        if match is None:
            problems.append(f"{head!r}: a title is `// title: (label) text`")
        label, title = match.groups() if match else ("", head)
        comments = [i for i, line in enumerate(lines) if line.startswith("//")]
        code = [i for i, line in enumerate(lines) if i not in comments]
        if code and code != list(range(code[0], len(lines))):
            problems.append(f"({label}): a comment line inside the query")
        if any(not lines[i].strip() for i in code):
            problems.append(f"({label}): a blank line ends the query early")
        la_lines: list[str] = []
        for i in comments:
            line = lines[i]
            if la_lines or line.startswith("// Log Analytics:"):
                la_lines.append(line.removeprefix("// Log Analytics:").removeprefix("//").strip())
        if not la_lines:
            problems.append(f"({label}): no `// Log Analytics:` form")
        queries.append(
            Query(
                label=label,
                title=title,
                kusto="\n".join(lines[i] for i in code),
                log_analytics="\n".join(la_lines),
                problems=tuple(problems),
            )
        )
    return queries


def reads(query: str, schema: Schema) -> tuple[str, list[str], set[str]]:
    """What a query reads, in the classic schema's words: table, metric names, attribute keys."""
    table = query.split(maxsplit=1)[0] if query.strip() else ""
    if schema is LOG_ANALYTICS:
        table = {LOG_ANALYTICS.metrics: CLASSIC.metrics, LOG_ANALYTICS.spans: CLASSIC.spans}.get(
            table, table
        )
    return table, metric_names(query, schema), set(dimension_keys(query, schema)[0])


def queries_problems(queries: list[Query]) -> list[str]:
    problems = [p for q in queries for p in q.problems]
    labels = [q.label for q in queries]
    problems += [f"no query titled ({label})" for label in sorted(REQUIRED_LABELS - set(labels))]
    problems += [f"({label}) twice" for label in sorted({x for x in labels if labels.count(x) > 1})]
    for q in queries:
        where = f"({q.label})"
        problems += query_problems(q.kusto, CLASSIC, where)
        problems += query_problems(q.log_analytics, LOG_ANALYTICS, f"{where} Log Analytics")
        if len(_TIME_FILTER.findall(q.kusto)) != 1:
            problems.append(f"{where}: not one `| where timestamp > ago(...)` line")
        if reads(q.log_analytics, LOG_ANALYTICS) != reads(q.kusto, CLASSIC):
            problems.append(f"{where}: the Log Analytics form reads other rows or attributes")
    return problems


# --- workbook.json -----------------------------------------------------------------------------


def kql_items(workbook: dict[str, Any]) -> list[dict[str, Any]]:
    """The workbook's query items (type 3), groups (type 12) opened."""
    found = []
    for item in workbook.get("items", []):
        if item.get("type") == 3:
            found.append(item)
        elif item.get("type") == 12:
            found += kql_items(item.get("content", {}))
    return found


def parameters(workbook: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for item in workbook.get("items", []):
        if item.get("type") == 9:
            found |= {p["name"]: p for p in item["content"].get("parameters", [])}
        elif item.get("type") == 12:
            found |= parameters(item.get("content", {}))
    return found


def workbook_problems(text: str, queries: list[Query]) -> list[str]:
    """The workbook's shape, and that its queries are queries.kql's, each over the time range
    (`| where timestamp {TimeRange}` for the `ago(...)` line; lines may follow, to shape a
    chart), every one of them shown once."""
    try:
        workbook = json.loads(text)
    except json.JSONDecodeError as error:
        return [f"not JSON: {error}"]
    if not isinstance(workbook, dict) or workbook.get("version") != "Notebook/1.0":
        return ["not a workbook: no version 'Notebook/1.0'"]
    params = parameters(workbook)
    problems = []
    if params.get("TimeRange", {}).get("type") != 4:
        problems.append("no TimeRange parameter of type 4 (time range)")
    expected = {q.title: _TIME_FILTER.sub(_WORKBOOK_TIME_FILTER, q.kusto) for q in queries}
    shown: list[str] = []
    for item in kql_items(workbook):
        content = item.get("content", {})
        where = f"workbook {item.get('name', '')!r}"
        query, title = content.get("query", ""), content.get("title", "")
        wanted = {
            "version": "KqlItem/1.0",
            "queryType": 0,
            "resourceType": "microsoft.insights/components",
            "timeContextFromParameter": "TimeRange",
        }
        problems += [
            f"{where}: {key} is {content.get(key)!r}, not {value!r}"
            for key, value in wanted.items()
            if content.get(key) != value
        ]
        problems += query_problems(query, CLASSIC, where)
        problems += [
            f"{where}: {{{name}}} is no parameter of the workbook"
            for name in re.findall(r"\{(\w+)(?::\w+)?\}", query)
            if name not in params
        ]
        if title not in expected:
            problems.append(f"{where}: {title!r} is no title of queries.kql")
        elif not (query == expected[title] or query.startswith(expected[title] + "\n| ")):
            problems.append(f"{where}: not queries.kql's {title!r} over {{TimeRange}}")
        shown.append(title)
    problems += [f"{title!r} not shown" for title in expected if title not in shown]
    problems += [f"{title!r} shown twice" for title in expected if shown.count(title) > 1]
    return problems


# --- the Bicep ---------------------------------------------------------------------------------

WORKBOOK_TYPE = "Microsoft.Insights/workbooks"
COMPONENT_TYPE = "Microsoft.Insights/components"
# Bicep's limit on a file loadTextContent reads, in characters.
LOAD_TEXT_LIMIT = 131072


def deployment_problems(bicep: Path, workbook: Path) -> list[str]:
    """The workbook resource in `bicep`: a shared workbook named by a GUID, loading exactly
    `workbook`, on the Application Insights component the same file declares, tagged as the
    other resources are."""
    resources = parse(bicep)["resources"]
    found = [body(r)[0] for r in resources.values() if r["type"] == WORKBOOK_TYPE]
    if len(found) != 1:
        return [f"{len(found)} {WORKBOOK_TYPE} resources, not 1"]
    (config,) = found
    components = {s for s, r in resources.items() if r["type"] == COMPONENT_TYPE}
    properties = config.get("properties", {})
    problems = []
    load = properties.get("serializedData", {})
    loaded = load.get("function", {}) if isinstance(load, dict) else {}
    path = loaded.get("parameters", {}).get("file_path", "")
    if loaded.get("type") != "load_text_content" or not path:
        problems.append("serializedData is not loadTextContent('...')")
    elif (bicep.parent / path).resolve() != workbook.resolve():
        problems.append(f"serializedData loads {path!r}, not {workbook.name}")
    elif len(workbook.read_text()) > LOAD_TEXT_LIMIT:
        problems.append(f"{workbook.name} is longer than loadTextContent reads")
    source = properties.get("sourceId", {})
    operands = source.get("operator", {}).get("operands", {}) if isinstance(source, dict) else {}
    if not (operands.get("operand_1") in components and operands.get("operand_2") == "id"):
        problems.append(f"sourceId is not the id of the {COMPONENT_TYPE} resource")
    if config.get("kind") != "shared" or properties.get("category") != "workbook":
        problems.append("not a shared workbook (kind 'shared', category 'workbook')")
    if not properties.get("displayName"):
        problems.append("no displayName")
    name = config.get("name", {})
    if not (isinstance(name, dict) and name.get("function", {}).get("type") == "guid"):
        problems.append("its name is not guid(...): a workbook's name is a GUID")
    tags = {json.dumps(body(r)[0].get("tags")) for r in resources.values()}
    if len(tags) != 1:
        problems.append("its tags are not the other resources'")
    return problems


def worker_telemetry_problems(api: Path) -> list[str]:
    value = app_settings(parse(api)).get("PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY")
    if value != "false":
        return [f"PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY is {value!r}, not 'false'"]
    return []


# --- the tests ---------------------------------------------------------------------------------


def test_the_queries_read_only_what_the_app_records() -> None:
    queries = parse_queries(QUERIES.read_text())
    assert queries_problems(queries) == []
    assert {q.label for q in queries} >= REQUIRED_LABELS
    # every metric the app records has a query; every query reads attributes
    assert {m for q in queries for m in metric_names(q.kusto, CLASSIC)} == METRICS
    assert all(dimension_keys(q.kusto, CLASSIC)[0] for q in queries)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('"polysync.deployment"', '"polysync.deploymnet"', "'polysync.deploymnet' is no attri"),
        ('name == "polysync.runs"', 'name == "polysync.run"', "'polysync.run' is no metric"),
        (
            'name == "polysync.throttled_attempts"',
            'name in ("polysync.throttled_attempts", "polysync.throttled")',
            "'polysync.throttled' is no metric",
        ),
        (
            'customDimensions["gen_ai.token.type"]',
            "customDimensions.['gen_ai.token.typ']",
            "'gen_ai.token.typ' is no attribute",
        ),
        ('customDimensions["gen_ai.token.type"]', "customDimensions.token_type", "a literal"),
        ('customDimensions["polysync.error_code"]', 'customDimensions["error.type"]', "drops"),
        ("// title: (c)", "// (c)", "no query titled (c)"),
        ("// title: (d2)", "// title: (d)", "(d) twice"),
        ("| where name ==", "// why\n| where name ==", "a comment line inside the query"),
        (
            '| where isnotempty(customDimensions["polysync.outcome"])\n',
            '| where isnotempty(customDimensions["polysync.outcome"])\n| where name == "chat x"\n',
            "filters spans by name",
        ),
        ("| where timestamp > ago(30d)\n", "", "not one `| where timestamp > ago(...)`"),
        ("| where name ==", "\n| where name ==", "a blank line ends the query early"),
        ("// Log Analytics: AppMetrics", "// AppMetrics", "no `// Log Analytics:` form"),
        ('(Properties["polysync.outcome"])', '(customDimensions["polysync.outcome"])', "schema"),
        ('Properties["gen_ai.token.type"]', 'Properties["gen_ai.response.model"]', "other rows"),
        ("| where TimeGenerated > ago(7d)", "| where timestamp > ago(7d)", "other schema"),
    ],
)
def test_a_broken_query_is_a_problem(old: str, new: str, problem: str) -> None:
    text = QUERIES.read_text()
    assert old in text
    broken = queries_problems(parse_queries(text.replace(old, new, 1)))
    assert any(problem in p for p in broken), broken


def test_the_workbook_shows_the_queries_over_its_time_range() -> None:
    queries = parse_queries(QUERIES.read_text())
    assert workbook_problems(WORKBOOK.read_text(), queries) == []
    assert len(kql_items(json.loads(WORKBOOK.read_text()))) == len(queries)


def _item(workbook: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [i for i in kql_items(workbook) if i.get("name") == name]
    return found


def _drop_item(workbook: dict[str, Any], name: str) -> None:
    workbook["items"] = [i for i in workbook["items"] if i.get("name") != name]


def _set_query(workbook: dict[str, Any], name: str, old: str, new: str) -> None:
    content = _item(workbook, name)["content"]
    assert old in content["query"]
    content["query"] = content["query"].replace(old, new)


WORKBOOK_BREAKS: list[tuple[Callable[[dict[str, Any]], object], str]] = [
    (lambda w: w.update(version="Notebook/2.0"), "no version 'Notebook/1.0'"),
    (lambda w: w.update(items=[i for i in w["items"] if i["type"] != 9]), "no TimeRange"),
    (
        lambda w: _set_query(w, "query - (a)", "polysync.deployment", "polysync.deploy"),
        "'polysync.deploy' is no attribute",
    ),
    (
        lambda w: _set_query(w, "query - (b)", "timestamp {TimeRange}", "timestamp > ago(7d)"),
        "not queries.kql's",
    ),
    (lambda w: _set_query(w, "query - (c)", "{TimeRange}", "{Range}"), "{Range} is no param"),
    (
        lambda w: _item(w, "query - (d)")["content"].update(resourceType="microsoft.web/sites"),
        "resourceType is 'microsoft.web/sites'",
    ),
    (
        lambda w: _item(w, "query - (d)")["content"].pop("timeContextFromParameter"),
        "timeContextFromParameter is None",
    ),
    (lambda w: _drop_item(w, "query - (e)"), "not shown"),
    (lambda w: w["items"].append(_item(w, "query - (e)")), "shown twice"),
]


@pytest.mark.parametrize(("breaks", "problem"), WORKBOOK_BREAKS)
def test_a_broken_workbook_is_a_problem(
    breaks: Callable[[dict[str, Any]], object], problem: str
) -> None:
    queries = parse_queries(QUERIES.read_text())
    workbook = json.loads(WORKBOOK.read_text())
    breaks(workbook)
    broken = workbook_problems(json.dumps(workbook), queries)
    assert any(problem in p for p in broken), broken


def test_a_workbook_that_is_no_json_is_a_problem() -> None:
    queries = parse_queries(QUERIES.read_text())
    assert workbook_problems(WORKBOOK.read_text()[:-10], queries)[0].startswith("not JSON")


def test_monitoring_bicep_deploys_the_workbook_on_the_component() -> None:
    assert deployment_problems(MONITORING_BICEP, WORKBOOK) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("", "", None),  # the unchanged copy: no problem
        ("'../monitoring/workbook.json'", "'../monitoring/queries.kql'", "serializedData loads"),
        ("loadTextContent('../monitoring/workbook.json')", "'{}'", "not loadTextContent"),
        ("sourceId: applicationInsights.id", "sourceId: logAnalytics.id", "sourceId is not"),
        ("kind: 'shared'", "kind: 'user'", "not a shared workbook"),
        ("category: 'workbook'", "category: 'sentinel'", "not a shared workbook"),
        ("name: guid(applicationInsights.id, ", "name: concat('runs', ", "guid"),
        ("  tags: tags\n  kind: 'shared'", "  kind: 'shared'", "tags"),
    ],
)
def test_a_broken_workbook_resource_is_a_problem(
    tmp_path: Path, old: str, new: str, problem: str | None
) -> None:
    text = MONITORING_BICEP.read_text()
    assert old in text
    (tmp_path / "app").mkdir()
    (tmp_path / "monitoring").mkdir()
    bicep, workbook = tmp_path / "app" / "monitoring.bicep", tmp_path / "monitoring" / WORKBOOK.name
    bicep.write_text(text.replace(old, new, 1))
    workbook.write_text(WORKBOOK.read_text())
    broken = deployment_problems(bicep, workbook)
    if problem is None:
        assert broken == []
    else:
        assert any(problem in p for p in broken), broken


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("", "", None),
        ("TELEMETRY', value: 'false'", "TELEMETRY', value: 'true'", "is 'true', not 'false'"),
        ("name: 'PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY'", "name: 'X'", "is None"),
    ],
)
def test_the_python_worker_configures_no_telemetry_of_its_own(
    tmp_path: Path, old: str, new: str, problem: str | None
) -> None:
    """The app configures its own pipeline (shared/telemetry/pipeline.py): the worker's would
    be a second one."""
    assert worker_telemetry_problems(API) == []
    text = API.read_text()
    assert old in text
    copy = tmp_path / "api.bicep"
    copy.write_text(text.replace(old, new, 1))
    broken = worker_telemetry_problems(copy)
    if problem is None:
        assert broken == []
    else:
        assert any(problem in p for p in broken), broken
