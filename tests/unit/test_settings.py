"""App settings: defaults, derived values, invalid ones named without their value, documented."""

import json

import pytest

from shared import errors
from shared.settings import SETTING_NAMES, load_settings
from tests.helpers import ROOT


def test_defaults_and_derived_endpoint():
    settings = load_settings({"AZURE_OPENAI_ACCOUNT": "my-aoai"})
    assert settings.openai_endpoint == "https://my-aoai.openai.azure.com"
    assert settings.api_version == "2024-10-21"
    assert settings.auth == "aad"
    assert settings.aoai_scope == "https://cognitiveservices.azure.com/.default"
    assert settings.arm_scope == "https://management.azure.com/.default"
    assert (settings.read_timeout_s, settings.run_deadline_s, settings.max_attempts) == (
        120,
        200,
        3,
    )
    assert settings.max_request_bytes == 8 * 1024 * 1024
    assert settings.job_definitions_table == "JobDefinitions"


def test_endpoint_override_drops_the_trailing_slash():
    settings = load_settings({"AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9/"})
    assert settings.openai_endpoint == "http://127.0.0.1:9"


def test_missing_account_is_named_when_needed():
    with pytest.raises(errors.NotConfigured, match="AZURE_OPENAI_ACCOUNT"):
        _ = load_settings({}).openai_endpoint


def test_api_key_mode_requires_the_key():
    with pytest.raises(errors.NotConfigured, match="AZURE_OPENAI_API_KEY"):
        load_settings({"AZURE_OPENAI_AUTH": "api_key"}).require_api_key()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AOAI_TIMEOUT_S", "soon"),
        ("RUN_DEADLINE_S", "230"),  # must stay under the 230 s HTTP limit
        ("AOAI_MAX_ATTEMPTS", "0"),
        ("MAX_REQUEST_BYTES", "-1"),
        ("AZURE_OPENAI_AUTH", "password"),
        ("AZURE_OPENAI_ENDPOINT", "not a url"),
        ("JOB_DEFINITIONS_TABLE", "1bad"),
        ("AZURE_OPENAI_ACCOUNT", "bad/name"),
    ],
)
def test_invalid_settings_are_named_without_their_value(name, value):
    with pytest.raises(errors.NotConfigured) as caught:
        load_settings({name: value, "AZURE_OPENAI_API_KEY": "s3cret-key"})
    assert name in caught.value.message
    assert "s3cret-key" not in str(caught.value.error_object())


# Read from the platform, never set by users: the managed identity's endpoint, and the host name
# App Service gives the app (the status link's origin).
PLATFORM_SETTINGS = {
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "WEBSITE_HOSTNAME",
}


def test_every_setting_is_in_the_sample_and_the_readme():
    """Every setting a user sets is in the sample with a note and in a table row of the README's
    "Settings at a glance"; docs/settings.md's table also names the identity-based storage URI
    and WEBSITE_HOSTNAME, which the app reads from the platform."""
    root = ROOT
    sample = json.loads((root / "local.settings.sample.json").read_text())
    ours = set(SETTING_NAMES) - PLATFORM_SETTINGS - {"AzureWebJobsStorage__tableServiceUri"}
    assert ours - set(sample["Values"]) == set()
    assert set(sample["Values"]) - {"FUNCTIONS_WORKER_RUNTIME"} <= set(sample["Notes"])
    documented = {
        "README.md": ours,
        "docs/settings.md": ours | {"AzureWebJobsStorage__tableServiceUri", "WEBSITE_HOSTNAME"},
    }
    for doc, names in documented.items():
        text = (root / doc).read_text(encoding="utf-8")
        rows = [line for line in text.splitlines() if line.startswith("| `")]
        missing = [name for name in sorted(names) if not any(f"`{name}`" in row for row in rows)]
        assert missing == [], f"{doc} has no table row naming {missing}"


@pytest.mark.parametrize(
    "name",
    [
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_RESOURCE_MANAGER_ENDPOINT",
        "PUBLIC_BASE_URL",
        "AzureWebJobsStorage__tableServiceUri",
    ],
)
def test_endpoints_that_get_tokens_must_be_https_except_on_loopback(name):
    with pytest.raises(errors.NotConfigured, match=name):
        load_settings({name: "http://aoai.example.com"})
    for loopback in ("http://127.0.0.1:7072", "http://localhost:7072", "http://[::1]:7072"):
        assert load_settings({name: loopback}) is not None
    assert load_settings({name: "https://aoai.example.com"}) is not None


def test_a_status_link_secret_must_be_long():
    with pytest.raises(errors.NotConfigured, match="STATUS_LINK_SECRET"):
        load_settings({"STATUS_LINK_SECRET": "short"})
    assert load_settings({"STATUS_LINK_SECRET": "x" * 32}).link_secrets() == ("x" * 32,)
