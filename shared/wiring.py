"""Builds the process-wide objects once: settings, credential, session, clients, registry.

Nothing is built at import time. The objects are kept for as long as the environment variables
they depend on (`SETTING_NAMES`) keep their values: in Azure that is the life of the process, in
tests each change of settings gets a graph of its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from azure.identity import ManagedIdentityCredential

from shared import logsafety
from shared.aoai import AzureOpenAI
from shared.arm import ResourceManager
from shared.errors import NotConfigured
from shared.http import AzureCaller, HeaderFactory, RetryPolicy, new_session
from shared.identity import TokenSource, api_key_headers, bearer_headers, build_credential
from shared.registry import JobRegistry, RegistryWriter, table_client
from shared.runs import Discoverer, Runner
from shared.settings import SETTING_NAMES, Settings, load_settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    credential: ManagedIdentityCredential
    runner: Runner
    discoverer: Discoverer


_lock = threading.Lock()
_session: requests.Session | None = None
_built: tuple[tuple[str | None, ...], Services] | None = None


def services(env: Mapping[str, str] | None = None) -> Services:
    """The process's services for the current settings (raises NotConfigured)."""
    global _built
    env = os.environ if env is None else env
    key = tuple(env.get(name) for name in SETTING_NAMES)
    with _lock:
        if _built is not None and _built[0] == key:
            return _built[1]
        logsafety.install()
        built = _build(load_settings(env))
        _built = (key, built)
        return built


def runner() -> Runner:
    return services().runner


def discoverer() -> Discoverer:
    return services().discoverer


def last_discovery() -> dict[str, Any] | None:
    return services().discoverer.writer.last_outcome()


def settings_or_problem(
    env: Mapping[str, str] | None = None,
) -> tuple[Settings | None, NotConfigured | None]:
    try:
        return load_settings(os.environ if env is None else env), None
    except NotConfigured as problem:
        return None, problem


def _shared_session() -> requests.Session:
    global _session
    if _session is None:
        _session = new_session()
    return _session


def _build(settings: Settings) -> Services:
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
    aoai = AzureOpenAI(
        AzureCaller(_shared_session(), auth, policy),
        endpoint=settings.openai_endpoint,
        api_version=settings.api_version,
    )
    # ARM takes no API keys: in api_key mode discovery reports why it cannot list anything.
    arm_auth = bearer_headers(TokenSource(credential, settings.arm_scope))
    arm = (
        None
        if settings.auth == "api_key"
        else ResourceManager(
            AzureCaller(_shared_session(), arm_auth, policy), base_url=settings.arm_base
        )
    )
    table = table_client(
        table_name=settings.job_definitions_table,
        connection_string=settings.storage_connection,
        table_service_uri=str(settings.storage_table_uri) if settings.storage_table_uri else None,
        credential=credential,
    )
    account = settings.require_account()
    writer = RegistryWriter(table, account)
    return Services(
        settings,
        credential,
        Runner(settings, aoai, JobRegistry(table, account, ttl_s=settings.registry_cache_ttl_s)),
        Discoverer(settings, arm, writer),
    )
