"""Keeps secrets that ride in URLs out of third-party log lines.

urllib3 logs every request line at DEBUG, query string included: a storage SAS (`sig=`) or a
function key (`code=`) would land in the logs of anyone who turns DEBUG on. A filter on its
logger rewrites those values before any handler sees the record. (azure-core's HTTP logging
policy already redacts query values itself; our own log lines never include a query.)
"""

from __future__ import annotations

import logging
import re

REDACTED = "REDACTED"
# Query parameters whose values are secrets: a SAS signature, a function key.
_SECRET_QUERY = re.compile(r"(?i)([?&;](?:sig|code)=)[^&;\s\"']+")
_LOGGERS = ("urllib3.connectionpool",)


def redact(text: str) -> str:
    return _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = redact(message)
        if safe != message:
            record.msg, record.args = safe, None
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Idempotent: attach the filter to the loggers that write URLs with their query."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
