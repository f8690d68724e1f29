"""Builds the process-wide objects once: settings, credential, session, clients, registry.

Nothing is built at import time, and nothing here is imported when the host indexes the app
(`function_app` imports a use-case on its first call). The settings are read from the environment
once per process, on the first call that needs them; in Azure a change of app settings restarts
the process. `reset()` drops what was built so the next call reads the environment again: the
tests' `app_settings` fixture calls it after changing a setting, and nothing else does.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import requests
from azure.identity import ManagedIdentityCredential

from shared import logsafety
from shared.clients.arm import ResourceManager
from shared.clients.identity import TokenSource, api_key_headers, bearer_headers, build_credential
from shared.clients.openai import AzureOpenAI
from shared.clients.retry import RetryPolicy
from shared.clients.transport import AzureClient, HeaderFactory, new_session
from shared.errors import NotConfigured
from shared.families import LearnedProfiles
from shared.registry.reader import JobRegistry
from shared.registry.table import table_client
from shared.registry.writer import RegistryWriter
from shared.settings import Settings, load_settings
from shared.telemetry.recorder import OFF, Telemetry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What the use-cases call: built once per process from the settings."""

    settings: Settings
    credential: ManagedIdentityCredential
    openai: AzureOpenAI
    arm: ResourceManager | None  # None in api_key mode: ARM takes no keys
    registry: JobRegistry
    writer: RegistryWriter
    learned: LearnedProfiles  # model profiles Azure's refusals taught this process


_lock = threading.Lock()
_session: requests.Session | None = None
_settings: Settings | NotConfigured | None = None
_services: Services | None = None
_telemetry: Telemetry | None = None


def settings() -> Settings:
    """The app's settings, read from the environment on first use (raises NotConfigured)."""
    global _settings
    if _settings is None:
        try:
            _settings = load_settings(os.environ)
        except NotConfigured as problem:
            _settings = problem
    if isinstance(_settings, NotConfigured):
        raise _settings
    return _settings


def settings_or_problem() -> tuple[Settings | None, NotConfigured | None]:
    try:
        return settings(), None
    except NotConfigured as problem:
        return None, problem


def services() -> Services:
    """The process's services (raises NotConfigured, naming the setting)."""
    global _services
    built = _services
    if built is not None:
        return built
    chosen = telemetry()  # decided first: it takes the same lock
    with _lock:
        if _services is None:
            logsafety.install()
            _services = _build(settings(), chosen)
        return _services


def telemetry() -> Telemetry:
    """The process's telemetry: OFF without settings that turn it on; else the OpenTelemetry
    pipeline, configured on this first call (`shared.telemetry.pipeline`, once per process)."""
    global _telemetry
    decided = _telemetry
    if decided is not None:
        return decided
    with _lock:
        if _telemetry is None:
            _telemetry = _build_telemetry(settings_or_problem()[0])
        return _telemetry


def _build_telemetry(settings: Settings | None) -> Telemetry:
    if settings is None or not settings.telemetry_exporters:
        return OFF
    from shared.telemetry import pipeline
    from shared.telemetry.live import LiveTelemetry

    try:
        pipeline.configure_once(settings)
    except Exception as exc:  # noqa: BLE001 - telemetry never fails a run
        logger.warning("telemetry is off: configuring it failed (%s)", type(exc).__name__)
        return OFF
    try:
        endpoint = settings.openai_endpoint
    except NotConfigured:  # the run fails on it later, with its own span
        endpoint = ""
    return LiveTelemetry(endpoint)


def reset() -> None:
    """Forget the settings and what was built from them (the HTTP session is kept, and so is a
    telemetry pipeline once configured: OpenTelemetry's providers are set once per process)."""
    global _settings, _services, _telemetry
    with _lock:
        _settings, _services, _telemetry = None, None, None


def _shared_session() -> requests.Session:
    global _session
    if _session is None:
        _session = new_session()
    return _session


def _build(settings: Settings, telemetry: Telemetry) -> Services:
    credential = build_credential(settings.client_id)
    auth: HeaderFactory = (
        api_key_headers(settings.require_api_key())
        if settings.auth == "api_key"
        else bearer_headers(TokenSource(credential, settings.aoai_scope))
    )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        read_timeout_s=settings.read_timeout_s,
        backoff_initial_s=settings.backoff_initial_s,
    )
    openai = AzureOpenAI(
        AzureClient(_shared_session(), auth, policy, telemetry),
        endpoint=settings.openai_endpoint,
        api_version=settings.api_version,
    )
    # ARM takes no API keys: in api_key mode discovery reports why it cannot list anything.
    arm_auth = bearer_headers(TokenSource(credential, settings.arm_scope))
    arm = (
        None
        if settings.auth == "api_key"
        else ResourceManager(
            AzureClient(_shared_session(), arm_auth, policy, telemetry), base_url=settings.arm_base
        )
    )
    table = table_client(
        table_name=settings.job_definitions_table,
        connection_string=settings.storage_connection,
        table_service_uri=str(settings.storage_table_uri) if settings.storage_table_uri else None,
        credential=credential,
        policies=telemetry.table_policies(),
    )
    account = settings.require_account()
    return Services(
        settings,
        credential,
        openai,
        arm,
        JobRegistry(table, account, ttl_s=settings.registry_cache_ttl_s),
        RegistryWriter(table, account),
        LearnedProfiles(),
    )
