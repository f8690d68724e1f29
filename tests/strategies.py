"""Hypothesis strategies and contract oracles for the bad-input properties of both tiers
(`tests/functions/test_bad_input_properties.py`, `tests/integration/test_bad_input_properties.py`).

An oracle reads README's contract, not the app's code. From what is sent it says which refusals
the app may answer on its own (HTTP status, `error.code`, `run_id`, the fields `details` names)
and whether the run may go ahead instead: reach Azure (the simulator), or be decoded locally.
Where the contract leaves room (a number as `"5.0"`, JSON with `NaN`, an endpoint Azure may not
offer), both are allowed. `verify` then checks an answer against that, and the properties that
hold for every answer: never a 5xx, always a JSON object without a stack trace, a refusal never
echoes the body's marker and never reaches Azure.
"""

from __future__ import annotations

import json
import math
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.data.tables import TableClient
from hypothesis import event
from hypothesis import strategies as st

from local.simulator import BATCH_COMPLETION_WINDOW, BATCH_ENDPOINTS, Simulator
from tests.helpers import azure_embedding, seed_definition

# --- the world the properties run in --------------------------------------------------------

JOB_CHAT = "Azure OpenAI Chat Completion"
JOB_EMBEDDING = "Azure OpenAI Embedding"
JOB_BATCH = "Azure OpenAI Batch Job"
JOB_TYPES = (JOB_CHAT, JOB_EMBEDDING, JOB_BATCH)
SERVED_CHAT = frozenset({"gpt-4o", "gpt-4o-mini"})  # the simulator's deployments
SERVED_EMBEDDING = {"text-embedding-3-small": 1536}
# Registry entities the run properties seed (External Id -> JobType); gpt-4o-mini has none, so
# an embedding run on it legitimately reaches Azure, which refuses it.
SEEDED = {"gpt-4o": JOB_CHAT, "text-embedding-3-small": JOB_EMBEDDING, "gpt-4o::batch": JOB_BATCH}
# The registry the jobs properties list (their `discovered` fixtures): a discovery of the
# simulator's deployments, then one without gpt-4o-mini (External Id -> job type, retired).
DISCOVERED = {
    "gpt-4o": (JOB_CHAT, False),
    "gpt-4o::batch": (JOB_BATCH, False),
    "gpt-4o-mini": (JOB_CHAT, True),
    "gpt-4o-mini::batch": (JOB_BATCH, True),
    "text-embedding-3-small": (JOB_EMBEDDING, False),
}
# MAX_REQUEST_BYTES for the body properties; bodies go a little over it. Deep nesting must fit
# under it: Hypothesis runs examples with the recursion limit raised to about 2,000 frames above
# the test, so only nesting deeper than that shows what 1,000 levels do in a plain process.
BODY_LIMIT = 12 * 1024
# Placeholders the tests replace: the id of an uploaded input file (also the `gpt-4o::batch`
# entity's `OpenAI Input File ID`), and of a batch that exists.
KNOWN_FILE = "file-known-placeholder"
KNOWN_BATCH = "batch_known-placeholder"

BATCH_LINE = (
    b'{"custom_id": "t-0", "method": "POST", "url": "/chat/completions", '
    b'"body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}}'
)


def seed_world(sim: Simulator, table: TableClient) -> str:
    """What the run oracles assume: the SEEDED registry entities and an uploaded batch input
    file, whose id is returned (and is the `gpt-4o::batch` entity's input file)."""
    known_file = sim.upload_file(BATCH_LINE)
    for external_id, job_type in SEEDED.items():
        attributes: dict[str, str] = {}
        if job_type == JOB_BATCH:
            attributes = {"Deployment Name": "gpt-4o", "OpenAI Input File ID": known_file}
        seed_definition(table, external_id, JobType=job_type, Attributes=attributes)
    return known_file


APP_REFUSALS = {  # documented refusals the app answers without Azure: code -> HTTP status
    "InvalidRequest": 400,
    "InvalidDeploymentName": 400,
    "InvalidRunId": 400,
    "PayloadTooLarge": 413,
    "InvalidInputModel": 422,
    "InvalidStatusLink": 401,
}

# --- strategies -----------------------------------------------------------------------------

# fmt: off
ATTACKS = (
    "", ".", "..", "...", "../", "../x", "..\\x", "..%2f", "%2e%2e", "%2e%2e%2fetc%2fpasswd",
    "%00", "a%00b", "\x00", "a\x00b", "gpt-4o\x00", "gpt-4o/../gpt-4o", "gpt-4o/", "/gpt-4o",
    "a/b", "a#b", "a?b", "?", "#", "/", "//", "%", "%zz", "%ff", "a b", " gpt-4o", "gpt-4o ",
    "gpt-4o\n", "\r\n", "\t", "\x7f", "\x1b[31m", "\u202egpt-4o", "gpt\u200b-4o", "\ufeffgpt-4o",
    "𝔤𝔭𝔱-4o", "😀", "\ud800", "ｇｐｔ-4o", "gpt–4o", "GPT-4O", "x" * 64, "x" * 65, "x" * 4096,
    "gpt-4o::batch", "gpt-4o::batch::batch", "::batch", "gpt-4o:batch", "gpt-4o::BATCH",
    "gpt-4o#sync#Success", "gpt-4o#sync#Failed", "gpt-4o#sync#success", "#sync#Success",
    "gpt-4o%23sync%23Success", "batch_", "batch_abc", "batch_../x", "batch_%2e%2e", "batch_a/b",
    "batch_abc\n", "batch_" + "a" * 129, "file-abc", "true", "TRUE", "false", "1", "null",
    JOB_CHAT, JOB_CHAT.lower(), JOB_CHAT + " ", "'; DROP TABLE JobDefinitions;--",
    "<script>alert(1)</script>", "${jndi:ldap://x}", "{{7*7}}",
)
# fmt: on
VALID_NAMES = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
NAMES_IN_USE = st.sampled_from(sorted({*SERVED_CHAT, *SERVED_EMBEDDING, "no-such-deployment"}))
_long_strings = st.text(min_size=1, max_size=8).map(lambda s: (s * 4096)[:4096])
_with_surrogates = st.text(
    st.characters(categories=["Cs", "Lo", "Cc", "Zs"]), min_size=1, max_size=8
)


def arbitrary_strings() -> st.SearchStrategy[str]:
    """Path traversal, encodings, unicode (RTL, astral, surrogates), control characters, `#`,
    `?`, `/`, 4 KB strings, and everything in between."""
    return st.one_of(
        st.sampled_from(ATTACKS),
        st.text(),
        st.text(st.characters(codec="ascii")),
        _with_surrogates,
        _long_strings,
        st.tuples(st.sampled_from(ATTACKS), st.sampled_from(ATTACKS)).map("".join),
        st.tuples(NAMES_IN_USE, st.sampled_from(ATTACKS)).map("".join),
    )


def deployment_names(*, batch: bool = False) -> st.SearchStrategy[str]:
    names = st.one_of(NAMES_IN_USE, VALID_NAMES, arbitrary_strings())
    if batch:
        return st.one_of(names, names.map(lambda n: n + "::batch"))
    return names


def plausible_names(*, batch: bool = False) -> st.SearchStrategy[str]:
    """Names that pass the name check (mostly), for the body properties."""
    names = st.one_of(NAMES_IN_USE, NAMES_IN_USE, VALID_NAMES)
    if batch:
        return st.one_of(names, names.map(lambda n: n + "::batch"))
    return names


def run_ids() -> st.SearchStrategy[str]:
    sync = st.tuples(VALID_NAMES, st.sampled_from(["Success", "Failed"])).map(
        lambda t: f"{t[0]}#sync#{t[1]}"
    )
    return st.one_of(
        sync,
        st.just(KNOWN_BATCH),
        st.from_regex(r"batch_[A-Za-z0-9_-]{1,40}", fullmatch=True),
        st.text(max_size=20).map(lambda s: "batch_" + s),
        st.tuples(arbitrary_strings(), st.sampled_from(["#sync#Success", "#sync#Failed"])).map(
            "".join
        ),
        arbitrary_strings(),
    )


def _json(floats: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), floats, st.text()),
        lambda kids: (
            st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
        ),
        max_leaves=10,
    )


json_values = _json(st.floats())  # NaN and infinities too: JSON only to Python
strict_json_values = _json(st.floats(allow_nan=False, allow_infinity=False))
# The marker: a random string placed in every body; `~` keeps it out of every valid pattern.
markers = st.text(string.ascii_letters + string.digits, min_size=10, max_size=10).map(
    lambda s: f"Mk~{s}"
)
# fmt: off
BLANKS = ("", " ", "\t\n ", "\u3000", "\xa0", "\x1c\x1d", "\u200b", "\r\n")
ODD_FILE_IDS = (
    *BLANKS, "file-", "file", "FILE-abc", "file-abc\n", "file_abc", "file-abc/../x", "file-%2e%2e",
    "file-" + "a" * 129, "file-abc def", "../file-abc",
)
ODD_ENDPOINTS = (
    *BLANKS, "/completions", "/chat/completions/", "/CHAT/completions", "chat/completions",
    "/chat/../completions", "//evil.example/x", "http://evil/x", "/chat/completions?x=1",
    "/chat/completions#x", "/%2e%2e/batches", "/\x00",
)
ODD_BODIES = (
    b"", b" ", b"null", b"[]", b"{}", b"\xff", b"\xef\xbb\xbf{}", b"{", b"{'user_prompt': 'x'}",
    b'{"user_prompt": "x"', b'{"input": "x"}}', b'{"user_prompt": "x", "input": "x"}\x00',
    b"\x00" * 64, b"NaN", b'{"user_prompt": "\\ud800", "input": "\\udfff"}', b'"\\u0000"',
)
# fmt: on


def _carrying(marker: str) -> st.SearchStrategy[Any]:
    """Wrong-typed values that carry the marker."""
    return st.one_of(
        st.just([marker]), st.just({marker: marker}), json_values.map(lambda v: [marker, v])
    )


def _prompts(marker: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(min_size=1).map(lambda s: f"{s} {marker}"),
        st.text(min_size=1).map(lambda s: f"{marker}{s}"),
        st.text(min_size=1).map(lambda s: f"{s}{marker}{s}"),
        st.text(st.characters(codec="ascii"), min_size=1).map(lambda s: f"{s} {marker}"),
        st.sampled_from(BLANKS),
        st.lists(st.just(marker), min_size=1, max_size=2),
        _carrying(marker),
        json_values,
    )


def _max_tokens(marker: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(1, 4096),
        st.integers(),
        st.integers(-5, 5000).map(str),
        st.floats(),
        st.booleans(),
        st.sampled_from(
            ["", " ", "1e3", "0x10", "1_000", " 5 ", "+5", "٣", "ten", "inf", "NaN", "00", "1.5"]
        ),
        st.just(marker),
        _carrying(marker),
        json_values,
    )


def _temperatures(marker: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.floats(0, 2),
        st.floats(),
        st.integers(-3, 3),
        st.floats(-1, 3).map(lambda f: f"{f:.3f}"),
        st.booleans(),
        st.sampled_from(["", "hot", "1e0", " 1 ", "nan", "Infinity", "2.", ".5", "0,5"]),
        st.just(marker),
        _carrying(marker),
        json_values,
    )


def _file_ids(marker: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(KNOWN_FILE),
        st.from_regex(r"file-[A-Za-z0-9_-]{1,128}", fullmatch=True),
        st.sampled_from(ODD_FILE_IDS),
        st.text().map(lambda s: "file-" + s),
        st.just(f"file-{marker}"),
        _carrying(marker),
        json_values,
    )


def _endpoints(marker: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(BATCH_ENDPOINTS),
        st.sampled_from(ODD_ENDPOINTS),
        st.from_regex(r"/[a-z0-9_./-]{1,100}", fullmatch=True),
        st.just(f"/chat/{marker}"),
        st.text(),
        _carrying(marker),
        json_values,
    )


def _windows(marker: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(BATCH_COMPLETION_WINDOW),
        st.sampled_from([*BLANKS, "1h", "48h", "0h", "24H", "24 h", "1d", "99999h", "24h\n"]),
        st.from_regex(r"[0-9]{1,5}[a-zA-Z]", fullmatch=True),
        st.just(marker),
        st.text(),
        _carrying(marker),
        json_values,
    )


FieldStrategies = Callable[[str], dict[str, st.SearchStrategy[Any]]]


def chat_fields(marker: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "user_prompt": _prompts(marker),
        "system_prompt": st.one_of(st.none(), _prompts(marker)),
        "max_tokens": _max_tokens(marker),
        "temperature": _temperatures(marker),
    }


def embedding_fields(marker: str) -> dict[str, st.SearchStrategy[Any]]:
    return {"input": _prompts(marker)}


def batch_fields(marker: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "input_file_id": _file_ids(marker),
        "endpoint": _endpoints(marker),
        "completion_window": _windows(marker),
    }


@dataclass(frozen=True)
class Body:
    """A request body: a JSON value (encoded when sent) or raw bytes."""

    value: Any = None
    raw: bytes | None = None
    ensure_ascii: bool = True

    def encode(self, known_file: str = KNOWN_FILE) -> bytes:
        if self.raw is not None:
            return self.raw
        value = self.value
        if isinstance(value, dict):
            value = {k: known_file if v == KNOWN_FILE else v for k, v in value.items()}
        # A lone surrogate with ensure_ascii=False gives bytes that are not UTF-8, on purpose.
        text = json.dumps(value, ensure_ascii=self.ensure_ascii)
        return text.encode("utf-8", "surrogatepass")


_depths = st.one_of(st.integers(1, 5000), st.integers(1900, 5000))


# Deep nesting, up to 5,000 levels (10 KB, under BODY_LIMIT so the size check lets it in).
def nested_lists(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def field_of_nested_lists(name: str, depth: int) -> bytes:
    return b'{"%s": %s}' % (name.encode(), nested_lists(depth))


def extra_field_of_nested_lists(name: str, depth: int) -> bytes:
    """A body whose fields are fine, plus an ignored field nested deep."""
    return b'{"%s": "x", "extra": %s}' % (name.encode(), nested_lists(depth))


@st.composite
def bodies(draw: st.DrawFn, fields: FieldStrategies) -> tuple[Body, str]:
    """A body for a run function, and the marker it carries (when it carries one)."""
    marker = draw(markers)
    known = fields(marker)
    obj: dict[str, Any] = draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3))
    obj[marker] = marker
    obj.update(draw(st.fixed_dictionaries({}, optional=known)))
    required = next(iter(known))  # the first field: mostly there
    if required not in obj and draw(st.integers(0, 3)):
        obj[required] = draw(known[required])
    ascii_only = draw(st.booleans())
    names = sorted(known)
    kinds = ["object"] * 6 + ["value", "bytes", "deep", "deep", "mutated", "encoded", "big"]
    kind = draw(st.sampled_from(kinds))
    if kind == "object":
        return Body(obj, ensure_ascii=ascii_only), marker
    if kind == "big":  # a valid-looking body around the size limit
        size = draw(st.integers(BODY_LIMIT - 200, BODY_LIMIT + 1000))
        padded = {**obj, required: draw(st.text(min_size=1, max_size=3)) * size}
        return Body(padded, ensure_ascii=ascii_only), marker
    if kind == "value":
        return Body(draw(json_values), ensure_ascii=ascii_only), marker
    if kind == "bytes":
        raw = draw(st.one_of(st.binary(max_size=5000), st.sampled_from(ODD_BODIES)))
        return Body(raw=raw), marker
    if kind == "deep":
        name = st.sampled_from(names)
        raw = draw(
            st.one_of(
                st.builds(nested_lists, _depths),
                st.builds(nested_objects, _depths),
                st.builds(field_of_nested_lists, name, _depths),
                st.builds(extra_field_of_nested_lists, name, _depths),
            )
        )
        return Body(raw=raw), marker
    encoded = Body(obj, ensure_ascii=ascii_only).encode()
    if kind == "mutated":
        at = draw(st.integers(0, max(len(encoded) - 1, 0)))
        how = draw(st.sampled_from(["flip", "cut", "insert"]))
        byte = bytes([draw(st.integers(0, 255))])
        if how == "cut":
            return Body(raw=encoded[:at]), marker
        if how == "insert":
            return Body(raw=encoded[:at] + byte + encoded[at:]), marker
        return Body(raw=encoded[:at] + byte + encoded[at + 1 :]), marker
    codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1"]))
    text = json.dumps(obj, ensure_ascii=ascii_only)
    return Body(raw=text.encode(codec, "replace")), marker


def valid_bodies(fields: FieldStrategies) -> st.SearchStrategy[dict[str, Any]]:
    """What the contract accepts: a non-blank prompt (any text), valid optional parameters
    (numbers, numeric strings, null), and any unknown fields (ignored)."""
    known = set(fields(""))
    keys = st.text(max_size=10).filter(lambda k: k not in known)
    extras = st.dictionaries(keys, strict_json_values)
    prompt = st.text(min_size=1).filter(lambda t: blankness(t) == "valid")
    optional = {
        "system_prompt": st.one_of(st.none(), st.text()),
        "max_tokens": st.one_of(st.none(), st.integers(1, 10**6), st.integers(1, 4096).map(str)),
        "temperature": st.one_of(st.none(), st.floats(0, 2), st.sampled_from(["0", "0.7", "2"])),
    }
    required = "user_prompt" if "user_prompt" in known else "input"
    params = st.fixed_dictionaries(
        {required: prompt}, optional={k: v for k, v in optional.items() if k in known}
    )
    return st.tuples(extras, params).map(lambda t: {**t[0], **t[1]})


def query_values() -> st.SearchStrategy[str | None]:
    """A `?deployment=`: none, a deployment of the seeded world (the known batch's link is
    signed for `gpt-4o`: drawn this way, its signed poll happens), or any string."""
    return st.one_of(st.none(), st.sampled_from(["gpt-4o", "gpt-4o-mini"]), arbitrary_strings())


def job_types() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.sampled_from(JOB_TYPES), arbitrary_strings())


def flags() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.sampled_from(["true", "false", "TRUE", "False", "", "1", "yes"]),
        arbitrary_strings(),
    )


# --- what the contract says -----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An answer of one of our functions."""

    status: int
    body: Any
    text: str  # the body as sent (for marker and stack-trace checks)


RunCheck = Callable[[Answer, Simulator], None]


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    run_id: str | None
    fields: frozenset[str] = frozenset()  # `details` must name each of these...
    may_name: frozenset[str] = frozenset()  # ...and may name these too (one at least)


@dataclass(frozen=True)
class Expected:
    refusals: tuple[Refusal, ...] = ()
    run: RunCheck | None = None  # the run may go ahead; this checks it
    any_refusal: bool = False  # any documented refusal will do (a value we cannot predict)

    def __or__(self, other: Expected) -> Expected:
        return Expected(
            self.refusals + other.refusals,
            self.run or other.run,
            self.any_refusal or other.any_refusal,
        )


def refuse(status: int, code: str, run_id: str | None, **names: frozenset[str]) -> Expected:
    return Expected((Refusal(status, code, run_id, **names),))


def goes_ahead(check: RunCheck) -> Expected:
    return Expected(run=check)


_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def valid_name(name: str) -> bool:
    """README: 'a deployment name of letters, digits, -, _, ., at most 64 characters' (ASCII,
    as Azure's), never the path segments `.` or `..`."""
    return _NAME.fullmatch(name) is not None and name not in {".", ".."}


def blankness(text: str) -> str:
    """'valid' (not blank), 'invalid' (blank), or 'unknown' (only exotic whitespace)."""
    plain = all(c in " \t\n\r\x0b\x0c" or unicodedata.category(c) == "Zs" for c in text)
    if plain:
        return "invalid"
    return "unknown" if not text.strip() else "valid"


def required_text(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    return blankness(value) if isinstance(value, str) else "invalid"


def optional_text(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    return "valid" if value is None or isinstance(value, str) else "invalid"


MAX_TOKENS_CEILING = 1_000_000  # the contract's upper bound for max_tokens


def positive_int(value: Any) -> str:
    """max_tokens: a whole number from 1 to the contract's ceiling."""
    if value is None:
        return "valid"
    if isinstance(value, bool) or isinstance(value, list | dict):
        return "invalid"
    if isinstance(value, int):
        return "valid" if 1 <= value <= MAX_TOKENS_CEILING else "invalid"
    if isinstance(value, float):
        if not math.isfinite(value) or not 1 <= value <= MAX_TOKENS_CEILING:
            return "invalid"
        return "unknown" if value.is_integer() else "invalid"  # 5.0: an integer or not?
    if re.fullmatch(r"[0-9]{1,18}", value):
        return "valid" if 1 <= int(value) <= MAX_TOKENS_CEILING else "invalid"
    if re.fullmatch(r"-[0-9]+", value) or not any(c.isdigit() or c.isnumeric() for c in value):
        return "invalid"
    return "unknown"  # "1_000", " 5 ", "+5", "٣": numeric strings or not?


def temperature(value: Any) -> str:
    if value is None:
        return "valid"
    if isinstance(value, bool) or isinstance(value, list | dict):
        return "invalid"
    if isinstance(value, int):
        return "valid" if 0 <= value <= 2 else "invalid"
    if isinstance(value, float):
        return "valid" if math.isfinite(value) and 0 <= value <= 2 else "invalid"
    if re.fullmatch(r"-?[0-9]{1,10}(\.[0-9]{1,10})?", value):
        return "valid" if 0 <= float(value) <= 2 else "invalid"
    if not any(c.isdigit() for c in value):
        return "invalid"
    return "unknown"


def file_id(value: Any) -> str:
    if value is None:
        return "valid"
    if not isinstance(value, str):
        return "invalid"
    if not value.strip():
        return "unknown"  # blank: absent, or refused
    if re.fullmatch(r"file-[A-Za-z0-9_-]{1,128}", value):
        return "valid"
    return "unknown" if re.fullmatch(r"file-[A-Za-z0-9_-]+", value) else "invalid"


_NEVER_IN_A_PATH = set(" ?#%\"'<>\\^`{|}")


def batch_endpoint(value: Any) -> str:
    if value is None or value in BATCH_ENDPOINTS:
        return "valid"
    if not isinstance(value, str):
        return "invalid"
    if not value.strip():
        return "unknown"
    malformed = not value.startswith("/") or any(
        not "!" <= c <= "~" or c in _NEVER_IN_A_PATH for c in value
    )
    return "invalid" if malformed else "unknown"  # well formed: Azure may not offer it


def completion_window(value: Any) -> str:
    if value is None or value == BATCH_COMPLETION_WINDOW:
        return "valid"
    if not isinstance(value, str):
        return "invalid"
    if not value.strip() or re.fullmatch(r"[0-9]+[A-Za-z]", value):
        return "unknown"
    return "invalid"


def present(obj: Mapping[str, Any], name: str) -> str | None:
    """A body string that overrides its job attribute: not blank."""
    value = obj.get(name)
    return value if isinstance(value, str) and value.strip() else None


# --- bodies ----------------------------------------------------------------------------------

DEEP = 100  # nesting an implementation may refuse (RFC 8259 §9 allows a depth limit)


def nesting_depth(raw: bytes) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def body_expect(
    raw: bytes,
    run_id: str | None,
    names: frozenset[str],
    on_object: Callable[[dict[str, Any]], Expected],
) -> Expected:
    """The body is JSON (RFC 8259: UTF-8, no NaN) holding an object: `on_object` says the rest.
    Text that is JSON only to Python (UTF-16, a BOM, NaN) may go either way; nesting deeper
    than `DEEP` may be refused as a whole."""
    not_json = refuse(400, "InvalidRequest", run_id, fields=frozenset({"body"}))
    too_deep = refuse(400, "InvalidRequest", run_id, may_name=names | {"body"})
    deep = nesting_depth(raw) > DEEP
    try:
        value = json.loads(raw)
    except RecursionError:
        return too_deep
    except ValueError:
        return too_deep if deep else not_json
    try:
        json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
        strict = True
    except (ValueError, RecursionError):
        strict = False
    outcome = on_object(value) if isinstance(value, dict) else not_json
    if deep:
        outcome = outcome | too_deep
    return outcome if strict else outcome | not_json


def fields_expect(
    verdicts: Mapping[str, str], run_id: str | None, then: Callable[[], Expected]
) -> Expected:
    invalid = frozenset(f for f, v in verdicts.items() if v == "invalid")
    unknown = frozenset(f for f, v in verdicts.items() if v == "unknown")
    if invalid:
        return refuse(400, "InvalidRequest", run_id, fields=invalid, may_name=unknown)
    if unknown:
        return then() | refuse(400, "InvalidRequest", run_id, may_name=unknown)
    return then()


def wrong_model(external_id: str, job: str) -> bool:
    """The registry says this deployment serves the other kind of model."""
    kind = SEEDED.get(external_id)
    return kind is not None and (kind == JOB_EMBEDDING) != (job == JOB_EMBEDDING)


# --- chat ----------------------------------------------------------------------------------


def expect_chat(name: str, raw: bytes, limit: int = BODY_LIMIT) -> Expected:
    if not valid_name(name):
        return refuse(400, "InvalidDeploymentName", None)
    failed = f"{name}#sync#Failed"
    if len(raw) > limit:
        return refuse(413, "PayloadTooLarge", failed)

    def on_object(obj: dict[str, Any]) -> Expected:
        verdicts = {
            "user_prompt": required_text(obj, "user_prompt"),
            "system_prompt": optional_text(obj, "system_prompt"),
            "max_tokens": positive_int(obj.get("max_tokens")),
            "temperature": temperature(obj.get("temperature")),
        }

        def then() -> Expected:
            if wrong_model(name, JOB_CHAT):
                return refuse(422, "InvalidInputModel", failed)
            return goes_ahead(lambda answer, sim: check_chat_run(name, obj, answer, sim))

        return fields_expect(verdicts, failed, then)

    return body_expect(raw, failed, frozenset(chat_fields("")), on_object)


def check_chat_run(name: str, obj: dict[str, Any], answer: Answer, sim: Simulator) -> None:
    (call,) = _one_call(sim, f"/openai/deployments/{name}/chat/completions")
    sent = call.json()
    assert set(sent) <= {"messages", "max_tokens", "temperature"}, sent
    *system, user = sent["messages"]
    assert user == {"role": "user", "content": obj["user_prompt"]}
    system_prompt = obj.get("system_prompt")
    with_system = [{"role": "system", "content": system_prompt}]
    if isinstance(system_prompt, str) and blankness(system_prompt) == "valid":
        assert system == with_system
    elif isinstance(system_prompt, str) and blankness(system_prompt) == "unknown":
        assert system in ([], with_system)
    else:
        assert system == []
    _check_sent_number(sent, "max_tokens", obj.get("max_tokens"), integer=True)
    _check_sent_number(sent, "temperature", obj.get("temperature"), integer=False)
    texts = [m["content"] for m in sent["messages"]]
    if any("[[filter-prompt]]" in t for t in texts):
        _check_azure_refusal(answer, 422, "content_filter", f"{name}#sync#Failed", 400)
    elif name in SERVED_CHAT:
        assert answer.status == 200, answer.body
        body = answer.body
        assert (body["run_id"], body["status"], body["deployment"]) == (
            f"{name}#sync#Success",
            "Success",
            name,
        )
        assert isinstance(body["response"], str)
        for count in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert isinstance(body[count], int), body
        assert body["finish_reason"] in {"stop", "length", "content_filter"}
        assert body["request_id"] == call.response_headers["apim-request-id"]
        assert "model" in body and "monitor_url" in body
    else:
        _check_not_served(name, answer, embedding=False)


def _check_sent_number(sent: dict[str, Any], name: str, given: Any, *, integer: bool) -> None:
    if given is None:
        assert name not in sent, sent
        return
    value = sent[name]
    assert isinstance(value, int if integer else int | float) and not isinstance(value, bool)
    if integer:
        assert value >= 1
    else:
        assert 0 <= value <= 2
    if isinstance(given, int | float) and not isinstance(given, bool):
        assert value == given, (value, given)
    elif isinstance(given, str) and re.fullmatch(r"[0-9]{1,10}(\.[0-9]{1,10})?", given):
        assert value == (int(given) if integer else float(given)), (value, given)


def _check_not_served(name: str, answer: Answer, *, embedding: bool) -> None:
    failed = f"{name}#sync#Failed"
    if name in (SERVED_CHAT if embedding else SERVED_EMBEDDING):
        # the other kind of model, unknown to the registry: Azure refuses the operation
        _check_azure_refusal(answer, 422, "OperationNotSupported", failed, 400)
    else:  # a well-formed name Azure does not serve: a valid run that Azure refused
        _check_azure_refusal(answer, 404, "DeploymentNotFound", failed, 404)


def _check_azure_refusal(
    answer: Answer, status: int, code: str, run_id: str | None, upstream: int
) -> None:
    body = answer.body
    assert (answer.status, body["error"]["code"]) == (status, code), body
    assert (body["status"], body["run_id"], body["upstream_status"]) == (
        "Failed",
        run_id,
        upstream,
    )
    assert isinstance(body["error"]["message"], str) and isinstance(body["request_id"], str)


def _one_call(sim: Simulator, path: str) -> list[Any]:
    calls = sim.requests()
    assert [c.path for c in calls] == [path], [c.path for c in calls]
    assert sim.arm_requests() == []
    return calls


# --- embedding -----------------------------------------------------------------------------


def expect_embedding(name: str, raw: bytes, limit: int = BODY_LIMIT) -> Expected:
    if not valid_name(name):
        return refuse(400, "InvalidDeploymentName", None)
    failed = f"{name}#sync#Failed"
    if len(raw) > limit:
        return refuse(413, "PayloadTooLarge", failed)

    def on_object(obj: dict[str, Any]) -> Expected:
        def then() -> Expected:
            if wrong_model(name, JOB_EMBEDDING):
                return refuse(422, "InvalidInputModel", failed)
            return goes_ahead(lambda answer, sim: check_embedding_run(name, obj, answer, sim))

        return fields_expect({"input": required_text(obj, "input")}, failed, then)

    return body_expect(raw, failed, frozenset({"input"}), on_object)


def check_embedding_run(name: str, obj: dict[str, Any], answer: Answer, sim: Simulator) -> None:
    (call,) = _one_call(sim, f"/openai/deployments/{name}/embeddings")
    assert call.json() == {"input": obj["input"]}
    if name in SERVED_EMBEDDING:
        body = answer.body
        assert answer.status == 200, body
        assert (body["run_id"], body["status"], body["deployment"]) == (
            f"{name}#sync#Success",
            "Success",
            name,
        )
        assert len(body["embedding"]) == SERVED_EMBEDDING[name]
        assert all(isinstance(x, float) for x in body["embedding"])
        assert isinstance(body["prompt_tokens"], int) and isinstance(body["total_tokens"], int)
        assert body["request_id"] == call.response_headers["apim-request-id"]
        assert body["embedding"] == azure_embedding(sim, name, obj["input"])  # Azure's own
    else:
        _check_not_served(name, answer, embedding=True)


# --- batch ---------------------------------------------------------------------------------


def expect_batch(
    external_id: str, raw: bytes, known_file: str, limit: int = BODY_LIMIT
) -> Expected:
    name = external_id.removesuffix("::batch")
    if not valid_name(name):
        return refuse(400, "InvalidDeploymentName", None)
    if len(raw) > limit:
        return refuse(413, "PayloadTooLarge", None)

    def on_object(obj: dict[str, Any]) -> Expected:
        verdicts = {
            "input_file_id": file_id(obj.get("input_file_id")),
            "endpoint": batch_endpoint(obj.get("endpoint")),
            "completion_window": completion_window(obj.get("completion_window")),
        }

        def then() -> Expected:
            definition = f"{name}::batch"
            if definition not in SEEDED and wrong_model(name, JOB_BATCH):
                return refuse(422, "InvalidInputModel", None)
            attribute_file = known_file if definition in SEEDED else None
            if present(obj, "input_file_id") is None and attribute_file is None:
                missing = frozenset({"input_file_id"})
                if verdicts["input_file_id"] == "unknown":  # blank: absent, or refused as such
                    return refuse(400, "InvalidRequest", None, may_name=missing)
                return refuse(400, "InvalidRequest", None, fields=missing)
            return goes_ahead(
                lambda answer, sim: check_batch_run(name, obj, attribute_file, answer, sim)
            )

        return fields_expect(verdicts, None, then)

    return body_expect(raw, None, frozenset(batch_fields("")), on_object)


def check_batch_run(
    name: str, obj: dict[str, Any], attribute_file: str | None, answer: Answer, sim: Simulator
) -> None:
    (call,) = _one_call(sim, "/openai/batches")
    sent = {
        "input_file_id": present(obj, "input_file_id") or attribute_file,
        "endpoint": present(obj, "endpoint") or "/chat/completions",
        "completion_window": present(obj, "completion_window") or "24h",
    }
    assert (call.method, call.json()) == ("POST", sent)
    body = answer.body
    known = sent["input_file_id"] in {f["id"] for f in sim.files()}
    if known and sent["endpoint"] in BATCH_ENDPOINTS and sent["completion_window"] == "24h":
        assert answer.status == 202, body
        assert re.fullmatch(r"batch_[A-Za-z0-9_-]+", body["run_id"]), body
        assert (body["status"], body["mode"], body["deployment"]) == ("Running", "batch", name)
        assert body["batch_status"] == "validating"
        assert {k: body[k] for k in sent} == sent
        assert f"/api/status/{body['run_id']}?" in body["statusQueryUrl"]
    else:  # a well-formed batch Azure refuses (file not uploaded, endpoint or window it lacks)
        _check_azure_refusal(answer, 422, "invalid_request", None, 400)


# --- status, jobs, health, discovery -------------------------------------------------------

_BATCH_ID = re.compile(r"batch_[A-Za-z0-9_-]{1,128}")
_SYNC_ID = re.compile(r"(?P<name>.*)#sync#(?P<outcome>Success|Failed)", re.DOTALL)


def expect_status(run_id: str, deployment: str | None, signed: bool = False) -> Expected:
    """docs/contract.md: `{deployment}#sync#Success|Failed` is decoded locally; `batch_…` is
    polled through this app's signed link for that run and deployment, else refused 401
    InvalidStatusLink with no call to Azure; anything else is 400 InvalidRunId. `?deployment=`
    is validated like a route parameter, whatever the run id."""
    invalid_run_id = refuse(400, "InvalidRunId", None)
    sync = _SYNC_ID.fullmatch(run_id)
    if sync is not None and (valid_name(sync["name"]) or sync["name"] in {".", ".."}):
        name = sync["name"]
        decoded = goes_ahead(lambda answer, sim: check_decoded(run_id, name, answer, sim))
        if deployment is not None and not valid_name(deployment):
            decoded = refuse(400, "InvalidDeploymentName", None)
        # '.' and '..' are no deployment names (the runs refuse them): decoded, or refused
        return decoded if valid_name(name) else decoded | invalid_run_id
    if not run_id.startswith("batch_"):
        return invalid_run_id
    tail = run_id.removeprefix("batch_")
    if _BATCH_ID.fullmatch(run_id) is None:
        odd = any(not c.isascii() or not c.isprintable() or c in "/\\%?# " for c in tail)
        if odd or not tail:
            return invalid_run_id  # no Azure batch id looks like that
        return invalid_run_id | _polled(run_id, deployment, signed)  # 'batch_…' loosely
    return _polled(run_id, deployment, signed)


def _polled(run_id: str, deployment: str | None, signed: bool) -> Expected:
    if deployment is not None and not valid_name(deployment):
        return refuse(400, "InvalidDeploymentName", None)
    if not signed:
        return refuse(401, "InvalidStatusLink", run_id)
    return goes_ahead(lambda answer, sim: check_poll(run_id, deployment, answer, sim))


def check_decoded(run_id: str, name: str, answer: Answer, sim: Simulator) -> None:
    assert sim.requests() == [] and sim.arm_requests() == [] and sim.token_requests() == []
    outcome = run_id.rsplit("#", 1)[1]
    expected = {"run_id": run_id, "status": outcome, "deployment": name, "mode": "sync"}
    if outcome == "Success":
        assert (answer.status, answer.body) == (200, expected)
    else:
        body = dict(answer.body)
        assert answer.status == 422 and body.pop("error")["code"] == "RunFailed", answer.body
        assert body == expected


def check_poll(run_id: str, deployment: str | None, answer: Answer, sim: Simulator) -> None:
    (call,) = _one_call(sim, f"/openai/batches/{run_id}")
    assert call.method == "GET"
    body = answer.body
    if run_id not in {b["id"] for b in sim.batches()}:
        _check_azure_refusal(answer, 404, "BatchNotFound", run_id, 404)
        return
    assert answer.status in {200, 202, 422}, body
    assert (body["run_id"], body["deployment"], body["mode"]) == (run_id, deployment, "batch")
    if answer.status == 202:
        assert body["status"] == "Running" and f"/api/status/{run_id}" in body["statusQueryUrl"]


def expect_jobs(job_type: str | None, include_retired: str | None) -> Expected:
    """docs/contract.md: `?job_type=<exact job type name>`; `?include_retired=true` or `false`
    exactly; any other value of either is 400 InvalidRequest."""
    listing = goes_ahead(lambda answer, sim: check_jobs(job_type, include_retired, answer, sim))
    flag_valid = include_retired in {None, "true", "false"}
    if job_type is not None and job_type not in JOB_TYPES:
        # one field named at least: the contract does not say whether both
        both = {"job_type"} if flag_valid else {"job_type", "include_retired"}
        return refuse(400, "InvalidRequest", None, may_name=frozenset(both))
    if not flag_valid:
        return refuse(400, "InvalidRequest", None, fields=frozenset({"include_retired"}))
    return listing


def no_azure(sim: Simulator) -> None:
    assert sim.requests() == [] and sim.arm_requests() == [] and sim.token_requests() == []


def check_jobs(
    job_type: str | None, include_retired: str | None, answer: Answer, sim: Simulator
) -> None:
    no_azure(sim)
    body = answer.body
    assert answer.status == 200 and set(body) == {"count", "jobs"}, body
    assert body["count"] == len(body["jobs"])
    with_retired = include_retired == "true"
    expected = sorted(
        (external_id, kind, retired)
        for external_id, (kind, retired) in DISCOVERED.items()
        if (job_type is None or kind == job_type) and (with_retired or not retired)
    )
    listed = sorted((job["external_id"], job["job_type"], job["retired"]) for job in body["jobs"])
    assert listed == expected, (job_type, include_retired)


def check_health(answer: Answer, sim: Simulator, secrets: tuple[str, ...]) -> None:
    """docs/contract.md: the anonymous check says `ok` and nothing else."""
    no_azure(sim)
    assert (answer.status, answer.body) == (200, {"status": "ok"}), answer.body
    for secret in secrets:
        assert secret not in answer.text


def check_discovery(answer: Answer, sim: Simulator) -> None:
    body = answer.body
    assert answer.status == 200, body
    assert (body["status"], body["trigger"], body["error"]) == ("Success", "http", None)
    assert body["deployments"] == len(sim.deployments)
    assert body["definitions"] == {JOB_CHAT: 2, JOB_EMBEDDING: 1, JOB_BATCH: 2}
    assert sim.requests() == [] and len(sim.arm_requests()) >= 1


# --- the check every answer gets -------------------------------------------------------------


def reached_azure(sim: Simulator) -> bool:
    return bool(sim.requests() or sim.arm_requests())


def verify(expected: Expected, answer: Answer, sim: Simulator, marker: str | None) -> None:
    body = answer.body
    assert answer.status < 500, f"{answer.status}: {answer.text}"
    assert isinstance(body, dict), answer.text
    assert "Traceback" not in answer.text and 'File "' not in answer.text, answer.text
    if answer.status >= 400 and marker is not None:
        assert marker not in answer.text, f"the answer echoes the body: {answer.text}"
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    event(f"{answer.status} {code or body.get('status')}")  # --hypothesis-show-statistics
    if not reached_azure(sim) and code in APP_REFUSALS and answer.status >= 400:
        _verify_refusal(expected, answer, code, sim)
        return
    assert expected.run is not None, (
        f"expected a refusal {expected.refusals}, got {answer.status} {body} "
        f"(Azure reached: {[c.path for c in sim.requests() + sim.arm_requests()]})"
    )
    expected.run(answer, sim)


def _verify_refusal(expected: Expected, answer: Answer, code: str, sim: Simulator) -> None:
    body = answer.body
    assert sim.token_requests() == [], "a refusal asked for a token"
    assert body["status"] == "Failed" and isinstance(body["error"]["message"], str), body
    assert answer.status == APP_REFUSALS[code], body
    if expected.any_refusal:
        return
    candidates = [r for r in expected.refusals if (r.status, r.code) == (answer.status, code)]
    assert candidates, f"got {answer.status} {body}; expected {expected}"
    problems = []
    for refusal in candidates:
        named = {d["field"] for d in body["error"].get("details") or []}
        if body["run_id"] != refusal.run_id:
            problems.append(f"run_id {body['run_id']!r} != {refusal.run_id!r}")
        elif (refusal.fields or refusal.may_name) and not (
            named and refusal.fields <= named <= refusal.fields | refusal.may_name
        ):
            problems.append(f"details name {sorted(named)}; expected {refusal}")
        else:
            return
    raise AssertionError(f"{body}: {problems}")


def any_outcome() -> Expected:
    def check(answer: Answer, sim: Simulator) -> None:
        assert answer.body.get("status") in {"Success", "Failed", "Running"}, answer.body
        if answer.status >= 400:
            assert isinstance(answer.body["error"]["code"], str)

    return Expected(run=check, any_refusal=True)
