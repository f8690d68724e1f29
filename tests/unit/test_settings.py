"""App settings: defaults, derived values, invalid ones named without their value, documented."""

import json
from pathlib import Path

import pytest

from shared import errors
from shared.settings import SETTING_NAMES, load_settings


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


PLATFORM_SETTINGS = {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET"}


def test_every_setting_is_in_the_sample_and_the_readme():
    root = Path(__file__).resolve().parents[2]
    sample = json.loads((root / "local.settings.sample.json").read_text())
    readme = (root / "README.md").read_text()
    ours = set(SETTING_NAMES) - PLATFORM_SETTINGS - {"AzureWebJobsStorage__tableServiceUri"}
    assert ours - set(sample["Values"]) == set()
    assert set(sample["Values"]) - {"FUNCTIONS_WORKER_RUNTIME"} <= set(sample["Notes"])
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert [name for name in sorted(ours) if not any(f"`{name}`" in row for row in rows)] == []
