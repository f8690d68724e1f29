"""No-cloud simulator of Azure OpenAI and of the App Service managed-identity token endpoint.

Tests use it in-process (``with Simulator() as sim: ...``); ``python -m local.simulator``
serves it for local runs. It speaks real HTTP on a loopback socket, so the app's HTTP
stack, credential chain and retry logic run unmodified; only the URLs change.

One module per surface, each listing its routes (every data-plane route needs an api-key or a
Bearer token, and ?api-version=... except on the v1 paths, which name the deployment in the
body's `model`):
    chat         POST /openai/deployments/{deployment}/chat/completions
                 POST /openai/v1/chat/completions
    embeddings   POST /openai/deployments/{deployment}/embeddings   POST /openai/v1/embeddings
    responses_api  POST /openai/v1/responses   GET|DELETE /openai/v1/responses/{response_id}
                 POST /openai/v1/responses/{response_id}/cancel   (response_store: how a
                 response is kept and advances)
    files        POST|GET /openai/files   GET|DELETE /openai/files/{file_id}
                 GET /openai/files/{file_id}/content
    batches      POST|GET /openai/batches   GET /openai/batches/{batch_id}
                 POST /openai/batches/{batch_id}/cancel   (batch_store: how a batch advances;
                 batch_lines: its input checks and answers)
    identity     GET /msi/token   (App Service managed identity)
    arm          GET /subscriptions/.../accounts/{account}/deployments   (Azure Resource Manager)
    control      /_sim/...   (JSON, no auth: requests, faults, deployments, latency, batches,
                 responses)
and what they share: state (deployments, request logs, faults, settings, the lock), models
(Deployment, Fault, RecordedRequest), families (what each model family accepts), reasoning (what
a family refuses, and reasoning tokens), faults, errors and responses (Azure's answers), auth
(the data plane's gate), inference (what chat, embeddings and responses share), routing, server
(HTTP), and simulator (the Simulator that builds and serves them all).
"""

from local.simulator.arm import (
    ARM_API_VERSION,
    DEFAULT_ACCOUNT,
    DEFAULT_ARM_PAGE_SIZE,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION_ID,
)
from local.simulator.batch_store import (
    BATCH_COMPLETION_WINDOW,
    BATCH_FORMATS,
    BATCH_OUTCOMES,
    BATCH_STATUSES,
    DEFAULT_BATCH_STEP_S,
    BatchFormat,
    BatchOutcome,
    BatchStatus,
)
from local.simulator.batches import BATCH_ENDPOINTS
from local.simulator.chat import COMPLETION_FILTER_MARKER, PROMPT_FILTER_MARKER
from local.simulator.cli import DEFAULT_CLI_PORT, DEPLOYMENTS_FILE_ENV, main
from local.simulator.families import FAMILIES, Family, family_for
from local.simulator.identity import (
    COGNITIVE_SERVICES_AUDIENCE,
    DEFAULT_IDENTITY_HEADER,
    IDENTITY_API_VERSION,
    TOKEN_PATH,
)
from local.simulator.models import (
    DEFAULT_DEPLOYMENTS,
    REASONING_DEPLOYMENTS,
    Deployment,
    Fault,
    FaultBody,
    RecordedRequest,
    deployment_from_dict,
    fault_from_dict,
    load_deployments,
)
from local.simulator.response_store import (
    DEFAULT_RESPONSE_STEP_S,
    INCOMPLETE_REASONS,
    RESPONSE_STATUSES,
    IncompleteReason,
    ResponseStatus,
)
from local.simulator.simulator import DEFAULT_API_KEY, DEFAULT_HOST, Simulator
from local.simulator.state import REQUEST_LOG_MAX

__all__ = [
    "ARM_API_VERSION",
    "BATCH_COMPLETION_WINDOW",
    "BATCH_ENDPOINTS",
    "BATCH_FORMATS",
    "BATCH_OUTCOMES",
    "BATCH_STATUSES",
    "COGNITIVE_SERVICES_AUDIENCE",
    "COMPLETION_FILTER_MARKER",
    "DEFAULT_ACCOUNT",
    "DEFAULT_API_KEY",
    "DEFAULT_ARM_PAGE_SIZE",
    "DEFAULT_BATCH_STEP_S",
    "DEFAULT_CLI_PORT",
    "DEFAULT_DEPLOYMENTS",
    "DEFAULT_HOST",
    "DEFAULT_IDENTITY_HEADER",
    "DEFAULT_RESOURCE_GROUP",
    "DEFAULT_RESPONSE_STEP_S",
    "DEFAULT_SUBSCRIPTION_ID",
    "DEPLOYMENTS_FILE_ENV",
    "FAMILIES",
    "IDENTITY_API_VERSION",
    "INCOMPLETE_REASONS",
    "PROMPT_FILTER_MARKER",
    "REASONING_DEPLOYMENTS",
    "REQUEST_LOG_MAX",
    "RESPONSE_STATUSES",
    "TOKEN_PATH",
    "BatchFormat",
    "BatchOutcome",
    "BatchStatus",
    "Deployment",
    "Family",
    "Fault",
    "FaultBody",
    "IncompleteReason",
    "RecordedRequest",
    "ResponseStatus",
    "Simulator",
    "deployment_from_dict",
    "family_for",
    "fault_from_dict",
    "load_deployments",
    "main",
]
