"""Secrets that ride in URLs never reach a log line."""

import logging

import pytest

from shared import logsafety


@pytest.mark.parametrize(
    ("line", "safe"),
    [
        (
            'http://h:1 "GET /acct/T()?se=2026&sp=r&sig=AbC%3D&sv=1 HTTP/1.1" 200 0',
            'http://h:1 "GET /acct/T()?se=2026&sp=r&sig=REDACTED&sv=1 HTTP/1.1" 200 0',
        ),
        (
            '"GET /api/status/batch_1?code=k3y HTTP/1.1"',
            '"GET /api/status/batch_1?code=REDACTED HTTP/1.1"',
        ),
        ("GET /x?SIG=abc", "GET /x?SIG=REDACTED"),
        ("SharedAccessSignature=sv=1&sig=abc;X=1", "SharedAccessSignature=sv=1&sig=REDACTED;X=1"),
        (
            "TableEndpoint=http://h;SharedAccessSignature=sv=1&sig=abc",
            "TableEndpoint=http://h;SharedAccessSignature=sv=1&sig=REDACTED",
        ),
        ("GET /x?design=1&signal=2", "GET /x?design=1&signal=2"),
    ],
)
def test_secrets_in_urls_are_redacted(line, safe):
    assert logsafety.redact(line) == safe


def test_the_filter_rewrites_urllib3_records_before_any_handler(caplog):
    logsafety.install()
    logsafety.install()  # idempotent
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug('"%s %s"', "GET", "/t?sig=secret&code=k")
    assert caplog.records[-1].getMessage() == '"GET /t?sig=REDACTED&code=REDACTED"'
    assert logging.getLogger("urllib3.connectionpool").filters.count(logsafety._FILTER) == 1
