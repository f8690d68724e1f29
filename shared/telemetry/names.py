"""Span, attribute and metric names: the OpenTelemetry GenAI semantic conventions where they
name a thing (semconv 1.41, "Development" status), this app's own under `polysync.`.

Kept free of OpenTelemetry imports: the no-op recorders and the docs' tests read it too."""

from typing import Final

INSTRUMENTATION_SCOPE: Final = "polysync-azure-openai"
DEFAULT_SERVICE_NAME: Final = "polysync-azure-openai"
PROVIDER: Final = "azure.ai.openai"  # gen_ai.provider.name's well-known value for Azure OpenAI

# --- GenAI semantic conventions -------------------------------------------------------------
OPERATION: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
TOKEN_TYPE: Final = "gen_ai.token.type"

# --- general semantic conventions ------------------------------------------------------------
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
HTTP_METHOD: Final = "http.request.method"
HTTP_STATUS: Final = "http.response.status_code"
HTTP_RESEND_COUNT: Final = "http.request.resend_count"
URL_TEMPLATE: Final = "url.template"
URL_FULL: Final = "url.full"  # without its query (Application Insights names a call by its path)
AZURE_REQUEST_ID: Final = "azure.service.request.id"  # Azure's apim-request-id / x-ms-request-id
AZURE_NAMESPACE: Final = "az.namespace"

# --- this app's own --------------------------------------------------------------------------
RUN_ID: Final = "polysync.run_id"
JOB_TYPE: Final = "polysync.job_type"
DEPLOYMENT: Final = "polysync.deployment"
POLYSYNC_OPERATION: Final = "polysync.operation"
OUTCOME: Final = "polysync.outcome"  # Success, Running, Failed: what the answer's status says
ANSWER_STATUS: Final = "polysync.http_status"  # the HTTP status the app answered Polysync
ATTEMPTS: Final = "polysync.attempts"  # HTTP attempts to Azure in the run, retries included
ATTEMPT: Final = "polysync.attempt"  # which attempt a call span is (1 = the first)
# error.type again: Application Insights keeps no error.type among a span's customDimensions
ERROR_CODE: Final = "polysync.error_code"

# --- metrics ---------------------------------------------------------------------------------
TOKEN_USAGE: Final = "gen_ai.client.token.usage"
OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
RUNS: Final = "polysync.runs"
THROTTLED: Final = "polysync.throttled_attempts"
# The semantic conventions' advised bucket boundaries.
TOKEN_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
DURATION_BUCKETS: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)

# Operations: gen_ai.operation.name for the GenAI ones (semconv's `chat`, `embeddings`; batches
# and polls have no semconv value, so they are named here), polysync.operation for every run.
CHAT: Final = "chat"
EMBEDDINGS: Final = "embeddings"
CREATE_BATCH: Final = "create_batch"
POLL_BATCH: Final = "poll_batch"
POLL_RESPONSE: Final = "poll_response"
POLL_SYNC: Final = "poll_sync"  # a synchronous run's id, answered with no call to Azure
DISCOVERY: Final = "discovery"
GENAI_OPERATIONS: Final = frozenset({CHAT, EMBEDDINGS, CREATE_BATCH, POLL_BATCH, POLL_RESPONSE})
# The operation a function's span starts as, before the run says more.
FUNCTION_OPERATIONS: Final = {
    "chat_run": CHAT,
    "embedding_run": EMBEDDINGS,
    "batch_run": CREATE_BATCH,
    "run_status": POLL_SYNC,
    "discovery_run": DISCOVERY,
    "discovery_sync": DISCOVERY,
}
