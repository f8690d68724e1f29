"""Status links: a signed capability for one run, with no function key, from a trusted origin."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared import constants as c
from shared.errors import InvalidStatusLink, NotConfigured
from shared.runs import links
from shared.settings import load_settings

SECRET = "s" * 40
OLD_SECRET = "o" * 40
NOW = 1_800_000_000.0


def settings(**env: str):
    return load_settings({"STATUS_LINK_SECRET": SECRET} | env)


def signed(url: str) -> tuple[str, str, dict[str, str]]:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}", parts.path, query


def test_a_link_names_the_run_and_its_expiry_and_carries_no_key():
    url = links.status_query_url(
        "http://127.0.0.1:7071", "batch_1", "gpt-4o", settings(), clock=lambda: NOW
    )
    origin, path, query = signed(url)
    assert (origin, path) == ("http://127.0.0.1:7071", "/api/status/batch_1")
    assert set(query) == {"deployment", "expires", "sig"} and query["deployment"] == "gpt-4o"
    assert int(query["expires"]) == int(NOW) + c.STATUS_LINK_TTL_S
    links.verify("batch_1", "gpt-4o", query["expires"], query["sig"], settings(), clock=lambda: NOW)


@pytest.mark.parametrize(
    ("env", "request_origin", "expected"),
    [
        (
            {"PUBLIC_BASE_URL": "https://api.example.com/aoai/"},
            "http://10.0.0.4",
            "https://api.example.com/aoai",
        ),
        (
            {"WEBSITE_HOSTNAME": "app.azurewebsites.net"},
            "http://evil.example",
            "https://app.azurewebsites.net",
        ),
        ({}, "http://localhost:7071", "http://localhost:7071"),
        ({}, "http://[::1]:7071", "http://[::1]:7071"),
    ],
)
def test_the_origin_is_the_setting_then_app_service_then_only_loopback(
    env, request_origin, expected
):
    url = links.status_query_url(request_origin, "batch_1", None, settings(**env))
    assert url.startswith(f"{expected}/api/status/batch_1?")


def test_a_network_host_header_is_never_the_origin():
    with pytest.raises(NotConfigured, match="PUBLIC_BASE_URL"):
        links.status_query_url("https://attacker.example", "batch_1", "d", settings())


def test_no_secret_no_link():
    with pytest.raises(NotConfigured, match="STATUS_LINK_SECRET"):
        links.status_query_url("http://127.0.0.1", "batch_1", "d", load_settings({}))


def _query(secret: str = SECRET, run_id: str = "batch_1", deployment: str | None = "d"):
    url = links.status_query_url(
        "http://127.0.0.1",
        run_id,
        deployment,
        settings(STATUS_LINK_SECRET=secret),
        clock=lambda: NOW,
    )
    return signed(url)[2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sig": None}, "no signature"),
        ({"expires": None}, "no signature"),
        ({"sig": "x" * 43}, "does not match"),
        ({"run_id": "batch_2"}, "does not match"),
        ({"deployment": "other"}, "does not match"),
        ({"deployment": None}, "does not match"),
        ({"expires": str(int(NOW) + c.STATUS_LINK_TTL_S + 1)}, "does not match"),
        ({"expires": "soon"}, "not a time"),
        ({"now": NOW + c.STATUS_LINK_TTL_S + 1}, "expired"),
    ],
)
def test_a_missing_wrong_or_expired_link_is_refused(change, message):
    query = _query()
    given = {"run_id": "batch_1", "deployment": "d", "now": NOW} | query | change
    with pytest.raises(InvalidStatusLink, match=message):
        links.verify(
            given["run_id"],
            given["deployment"],
            given["expires"],
            given["sig"],
            settings(),
            clock=lambda: given["now"],
        )


def test_a_link_signed_with_the_previous_secret_holds_through_a_rotation():
    query = _query(secret=OLD_SECRET)
    rotated = settings(STATUS_LINK_PREVIOUS_SECRET=OLD_SECRET)
    links.verify("batch_1", "d", query["expires"], query["sig"], rotated, clock=lambda: NOW)
    with pytest.raises(InvalidStatusLink):
        links.verify("batch_1", "d", query["expires"], query["sig"], settings(), clock=lambda: NOW)
