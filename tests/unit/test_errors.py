"""The error tree: every class has its documented status, and Azure's own codes reach the caller."""

from shared import errors
from shared.errors import UpstreamRejected


def test_every_error_class_has_a_documented_status():
    expected = {
        "InvalidRequest": 400,
        "InvalidDeploymentName": 400,
        "InvalidRunId": 400,
        "InvalidStatusLink": 401,
        "JobNotRegistered": 404,
        "PayloadTooLarge": 413,
        "InvalidInputModel": 422,
        "RunFailed": 422,
        "BatchFailed": 422,
        "BatchExpired": 422,
        "BatchCancelled": 422,
        "ResponseFailed": 422,
        "ResponseCancelled": 422,
        "NotConfigured": 500,
        "InvalidJobDefinition": 500,
        "InternalError": 500,
        "RegistryUnavailable": 503,
        "DeploymentNotFound": 404,
        "BatchNotFound": 404,
        "ResponseNotFound": 404,
        "UpstreamRejected": 422,
        "UpstreamAuthFailed": 502,
        "UpstreamUnavailable": 502,
        "UpstreamBadResponse": 502,
        "RateLimited": 503,
        "UpstreamTimeout": 504,
        "UpstreamNotFound": 502,
    }
    assert {cls.code: status for cls, status in errors.HTTP_STATUS.items()} == expected


def test_rejected_carries_azure_code_not_ours():
    error = UpstreamRejected("bad", upstream_status=400, upstream_code="content_filter")
    assert error.error_object() == {"code": "content_filter", "message": "bad"}
