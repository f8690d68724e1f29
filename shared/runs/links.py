"""Status links (docs/design.md §6): a `statusQueryUrl` is a capability for one run.

`/api/status/{run_id}?deployment=...&expires=...&sig=...`, where `sig` is an HMAC-SHA256, with
the app's `STATUS_LINK_SECRET`, over the run id, the deployment and the expiry (Unix seconds,
`STATUS_LINK_TTL_S` after the link was made). It carries no function key: the status route is
anonymous, and a poll of an asynchronous run is answered only for a link this app signed, still
valid, for that run. A second secret (`STATUS_LINK_PREVIOUS_SECRET`) is accepted while links
signed before a rotation expire.

The link's origin is `PUBLIC_BASE_URL`, else `https://{WEBSITE_HOSTNAME}` (App Service sets it),
else, only when the caller reached the app on a loopback address (the local stack), the origin
it used: never a Host header from the network, never `http://` outside loopback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from shared import constants as c
from shared.errors import InvalidStatusLink, NotConfigured
from shared.settings import Settings, is_loopback_host


@dataclass(frozen=True)
class StatusLink:
    """The signature part of a status link's query, as the poll carries it."""

    expires: str | None = None
    sig: str | None = None


def status_query_url(
    request_origin: str,
    run_id: str,
    deployment: str | None,
    settings: Settings,
    clock: Callable[[], float] = time.time,
) -> str:
    """The signed, absolute link Polysync polls for this run."""
    secret = settings.link_secrets()[0]
    expires = int(clock()) + c.STATUS_LINK_TTL_S
    query = {"deployment": deployment} if deployment else {}
    query |= {"expires": str(expires), "sig": _signature(secret, run_id, deployment, expires)}
    base = link_origin(request_origin, settings)
    return f"{base}/{c.ROUTE_PREFIX}/status/{quote(run_id, safe='')}?{urlencode(query)}"


def require_linkable(request_origin: str, settings: Settings) -> None:
    """NotConfigured, before Azure is called, when this run's status link cannot be made: no
    secret to sign it, or no origin to put in it (a run Azure started would then run unseen)."""
    settings.link_secrets()
    link_origin(request_origin, settings)


def link_origin(request_origin: str, settings: Settings) -> str:
    if settings.public_base:
        return settings.public_base
    if settings.website_hostname:
        return f"https://{settings.website_hostname}"
    if is_loopback_host(urlsplit(request_origin).hostname or ""):
        return request_origin.rstrip("/")
    raise NotConfigured(
        "Setting PUBLIC_BASE_URL is missing: the app cannot tell the address its callers reach "
        "it at (App Service sets WEBSITE_HOSTNAME; outside it, set PUBLIC_BASE_URL)."
    )


def verify(
    run_id: str,
    deployment: str | None,
    expires: str | None,
    sig: str | None,
    settings: Settings,
    clock: Callable[[], float] = time.time,
) -> None:
    """InvalidStatusLink unless `sig` is this app's signature of the run, deployment and an
    expiry still ahead; compared in constant time, with the current and the previous secret."""
    secrets = settings.link_secrets()
    if not sig or not expires:
        raise InvalidStatusLink(
            "This run is polled with the statusQueryUrl its submission answered (it carries "
            "`expires` and `sig`); this request has no signature."
        )
    if not expires.isdigit() or len(expires) > 12:
        raise InvalidStatusLink("The status link's `expires` is not a time.")
    if int(expires) < clock():
        raise InvalidStatusLink(
            "The status link has expired; find the run in the Azure portal (its id is the run id)."
        )
    valid = [_signature(secret, run_id, deployment, int(expires)) for secret in secrets]
    if not any(hmac.compare_digest(sig.encode(), good.encode()) for good in valid):
        raise InvalidStatusLink(
            "The status link's signature does not match this run: use the statusQueryUrl as the "
            "app answered it."
        )


def _signature(secret: str, run_id: str, deployment: str | None, expires: int) -> str:
    message = "\n".join((run_id, deployment or "", str(expires))).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
