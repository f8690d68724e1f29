"""Smoke test of a deployed app, after `azd up` (docs/operations.md#after-azd-up-the-smoke-test).

    python scripts/smoke.py --url https://func-api-xxxx.azurewebsites.net --deployment gpt-4o

Keys come from the environment (or flags, which a shell history keeps): SMOKE_FUNCTION_KEY (a
function key: runs, /api/health/details) and SMOKE_MASTER_KEY (the master key: discovery and
/api/jobs); with App Service Authentication on (polysyncClientIds), SMOKE_BEARER_TOKEN, an Entra
token of one of Polysync's service principals for the app. The URL may come from SMOKE_APP_URL
(azd's SERVICE_API_URI).

Steps, each printed as one PASS/FAIL line with what it saw (run ids, Azure's request ids):
health (anonymous), health details (function key), discovery and the job list (master key), one
chat run on `--deployment` and its status poll (anonymous); with `--batch-input-file-id`, a batch
submitted (its statusQueryUrl must carry no key) and polled anonymously through that link until
it ends or `--batch-wait-s` passes. Exit code 0 when every step passed, 1 otherwise. A key or
token is never printed: every output line is scrubbed of them.

Standard library and requests only, so it runs from any Python 3.9+ with requests installed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

TIMEOUT_S = 240.0  # a run may take up to the app's 200 s deadline
KEY_HEADER = "x-functions-key"
PROMPT = "Reply with the single word: pong"


@dataclass
class Smoke:
    url: str
    function_key: str
    master_key: str
    bearer_token: str = ""
    results: list[bool] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def secrets(self) -> list[str]:
        return [s for s in (self.function_key, self.master_key, self.bearer_token) if s]

    def say(self, ok: bool, step: str, detail: str) -> bool:
        line = f"{'PASS' if ok else 'FAIL'}  {step:<16} {detail}"
        for secret in self.secrets():
            line = line.replace(secret, "***")
        print(line, flush=True)
        self.results.append(ok)
        return ok

    def call(
        self, method: str, path_or_url: str, key: str = "", **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key:
            headers[KEY_HEADER] = key
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        url = path_or_url if "://" in path_or_url else f"{self.url}{path_or_url}"
        return self.session.request(method, url, headers=headers, timeout=TIMEOUT_S, **kwargs)


def body_of(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def problem(response: requests.Response) -> str:
    """HTTP status and the app's error code and message (never the request's headers)."""
    error = body_of(response).get("error")
    if isinstance(error, dict):
        return f"HTTP {response.status_code} {error.get('code')}: {str(error.get('message'))[:200]}"
    return f"HTTP {response.status_code} {response.text[:200]!r}"


def step(name: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """A step that reports a connection failure as its FAIL line instead of a traceback."""

    def wrap(function: Callable[..., bool]) -> Callable[..., bool]:
        def run(smoke: Smoke, *args: Any) -> bool:
            try:
                return function(smoke, *args)
            except requests.RequestException as error:
                return smoke.say(False, name, f"no answer: {type(error).__name__}")

        return run

    return wrap


@step("health")
def health(smoke: Smoke) -> bool:
    answer = smoke.call("GET", "/api/health")
    ok = answer.status_code == 200 and body_of(answer) == {"status": "ok"}
    return smoke.say(ok, "health", f"HTTP {answer.status_code} {answer.text[:80]}")


@step("health details")
def health_details(smoke: Smoke) -> bool:
    answer = smoke.call("GET", "/api/health/details", smoke.function_key)
    if answer.status_code != 200:
        return smoke.say(False, "health details", problem(answer))
    body = body_of(answer)
    missing = body.get("missing_settings") or []
    detail = f"account={body.get('account')} auth={body.get('auth')} missing={missing}"
    return smoke.say(not missing, "health details", detail)


@step("discovery")
def discovery(smoke: Smoke) -> bool:
    answer = smoke.call("POST", "/api/discovery", smoke.master_key)
    body = body_of(answer)
    if answer.status_code != 200:
        return smoke.say(False, "discovery", problem(answer))
    counts = {k: body.get(k) for k in ("deployments", "created", "updated", "unchanged", "retired")}
    warnings = body.get("warnings") or []
    ok = body.get("status") == "Success"
    return smoke.say(ok, "discovery", f"{body.get('status')} {counts} warnings={len(warnings)}")


@step("jobs")
def jobs(smoke: Smoke, deployment: str) -> bool:
    answer = smoke.call("GET", "/api/jobs", smoke.master_key)
    if answer.status_code != 200:
        return smoke.say(False, "jobs", problem(answer))
    found = body_of(answer).get("jobs") or []
    ids = {job.get("external_id") for job in found if isinstance(job, dict)}
    ok = deployment in ids
    detail = f"{len(found)} definitions; {deployment!r} {'listed' if ok else 'NOT listed'}"
    return smoke.say(ok, "jobs", detail)


@step("chat run")
def chat(smoke: Smoke, deployment: str) -> bool:
    path = f"/api/chat/{quote(deployment, safe='')}"
    # No max_tokens: reasoning models refuse it (they take only max_completion_tokens).
    answer = smoke.call("POST", path, smoke.function_key, json={"user_prompt": PROMPT})
    body = body_of(answer)
    if answer.status_code != 200 or body.get("status") != "Success":
        return smoke.say(False, "chat run", problem(answer))
    detail = (
        f"run_id={body.get('run_id')} model={body.get('model')} "
        f"tokens={body.get('total_tokens')} request_id={body.get('request_id')}"
    )
    smoke.say(True, "chat run", detail)
    status = smoke.call("GET", f"/api/status/{quote(str(body.get('run_id')), safe='')}")
    ok = status.status_code == 200 and body_of(status).get("status") == "Success"
    return smoke.say(
        ok, "chat status", f"HTTP {status.status_code} {body_of(status).get('status')}"
    )


@step("batch")
def batch(smoke: Smoke, deployment: str, input_file_id: str, wait_s: float, poll_s: float) -> bool:
    path = f"/api/batches/{quote(deployment, safe='')}"
    answer = smoke.call("POST", path, smoke.function_key, json={"input_file_id": input_file_id})
    body = body_of(answer)
    link = str(body.get("statusQueryUrl") or "")
    if answer.status_code != 202 or not link:
        return smoke.say(False, "batch submit", problem(answer))
    keyless = "code" not in parse_qs(urlsplit(link).query) and not any(
        s in link for s in smoke.secrets()
    )
    smoke.say(
        keyless, "batch submit", f"run_id={body.get('run_id')} link carries no key: {keyless}"
    )
    deadline = time.monotonic() + wait_s
    while True:
        poll = smoke.call("GET", link)  # anonymous: the signed link is the capability
        state = body_of(poll)
        if poll.status_code != 202 or time.monotonic() >= deadline:
            break
        link = str(state.get("statusQueryUrl") or link)
        time.sleep(poll_s)
    detail = f"run_id={state.get('run_id')} HTTP {poll.status_code} {state.get('status')}"
    if poll.status_code == 200:
        return smoke.say(
            True, "batch poll", f"{detail} output_file_id={state.get('output_file_id')}"
        )
    if poll.status_code == 202:
        return smoke.say(True, "batch poll", f"{detail} (still {state.get('batch_status')})")
    return smoke.say(False, "batch poll", problem(poll))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python scripts/smoke.py", description="Smoke test of a deployed app."
    )
    parser.add_argument("--url", default=env.get("SMOKE_APP_URL"), help="the app's https:// URL")
    parser.add_argument("--deployment", required=True, help="a chat deployment to run")
    parser.add_argument("--function-key", default=env.get("SMOKE_FUNCTION_KEY", ""))
    parser.add_argument("--master-key", default=env.get("SMOKE_MASTER_KEY", ""))
    parser.add_argument("--bearer-token", default=env.get("SMOKE_BEARER_TOKEN", ""))
    parser.add_argument("--batch-input-file-id", help="also submit a batch with this input file")
    parser.add_argument("--batch-wait-s", type=float, default=0.0, help="poll until it ends")
    parser.add_argument("--poll-s", type=float, default=5.0, help="seconds between polls")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url (or SMOKE_APP_URL)")
    if not (args.function_key and args.master_key):
        parser.error("set SMOKE_FUNCTION_KEY and SMOKE_MASTER_KEY (or the flags)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    smoke = Smoke(args.url.rstrip("/"), args.function_key, args.master_key, args.bearer_token)
    with smoke.session:
        health(smoke)
        health_details(smoke)
        discovery(smoke)
        jobs(smoke, args.deployment)
        chat(smoke, args.deployment)
        if args.batch_input_file_id:
            batch(smoke, args.deployment, args.batch_input_file_id, args.batch_wait_s, args.poll_s)
    passed = sum(smoke.results)
    print(f"smoke test: {passed} of {len(smoke.results)} steps passed", flush=True)
    return 0 if all(smoke.results) else 1


if __name__ == "__main__":
    sys.exit(main())
