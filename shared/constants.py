"""Every tunable of the app in one place (timeouts, retry policy, caches, limits).

Settings (docs/design.md §9) override some of these per deployment; the names below are the defaults
and the fixed values that are not worth a setting.
"""

from typing import Final

# --- Azure OpenAI data plane ---------------------------------------------------------------
DEFAULT_API_VERSION: Final = "2024-10-21"
DEFAULT_AOAI_SCOPE: Final = "https://cognitiveservices.azure.com/.default"
DEFAULT_ARM_ENDPOINT: Final = "https://management.azure.com"
ARM_DEPLOYMENTS_API_VERSION: Final = "2023-05-01"
# A listing longer than this is treated as an ARM fault (a nextLink loop), not followed forever.
ARM_MAX_PAGES: Final = 1000

# --- Calls to Azure: timeouts and the retry policy (docs/design.md §8) ----------------------------
CONNECT_TIMEOUT_S: Final = 10.0
DEFAULT_READ_TIMEOUT_S: Final = 120.0  # AOAI_TIMEOUT_S
DEFAULT_RUN_DEADLINE_S: Final = 200.0  # RUN_DEADLINE_S: under the 230 s HTTP limit of Functions
DEFAULT_MAX_ATTEMPTS: Final = 3  # AOAI_MAX_ATTEMPTS
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_INITIAL_S: Final = 0.5
BACKOFF_MAX_S: Final = 8.0
BACKOFF_JITTER: Final = 0.25  # the delay is cut by up to this fraction, at random
# A server-suggested wait longer than this is not taken even inside the deadline: the caller
# (Polysync, with its own retry policy) is told to come back later instead of holding a
# connection open (the same idea as openai-python's cap on Retry-After).
MAX_RETRY_WAIT_S: Final = 60.0
# The deadline keeps this much time for the answer to travel back to the caller.
DEADLINE_MARGIN_S: Final = 0.05

# --- HTTP connection pool ------------------------------------------------------------------
# Sized for the Functions Python worker's default of up to 32 concurrent invocations.
POOL_CONNECTIONS: Final = 4
POOL_MAXSIZE: Final = 64

# --- Requests from Polysync ----------------------------------------------------------------
DEFAULT_MAX_REQUEST_BYTES: Final = 8 * 1024 * 1024  # MAX_REQUEST_BYTES
# A request body may hold at most this many JSON containers, keys and elements (a flat object of
# parameters holds a few dozen): parsing stays bounded in memory and time whatever its size.
MAX_JSON_ELEMENTS: Final = 10_000
DEPLOYMENT_NAME_MAX_LEN: Final = 64
# The largest max_tokens a run or a job attribute may ask for (no model answers more).
MAX_TOKENS_CEILING: Final = 1_000_000
BATCH_SUFFIX: Final = "::batch"

# --- Job registry (Table storage) ----------------------------------------------------------
DEFAULT_JOB_DEFINITIONS_TABLE: Final = "JobDefinitions"
# A definition read from storage is reused for this long before it is read again; when storage
# is unreachable, the last definition read is used however old it is.
REGISTRY_CACHE_TTL_S: Final = 60.0
REGISTRY_CONNECT_TIMEOUT_S: Final = 3.0
REGISTRY_READ_TIMEOUT_S: Final = 5.0
REGISTRY_RETRY_TOTAL: Final = 1
REGISTRY_READ_LOCKS: Final = 64  # concurrent cache misses for one External Id share one read
TRANSACTION_MAX_OPERATIONS: Final = 100  # Table storage's limit per entity group transaction
# Sync outcomes live in the registry table under a PartitionKey no account name can have
# (account names start with a letter or digit).
DISCOVERY_OUTCOME_PARTITION: Final = "_discovery"
# `/api/health/details` reuses the last discovery outcome this long, and reads it with this
# timeout (no retry) when it must.
OUTCOME_CACHE_TTL_S: Final = 30.0
OUTCOME_READ_TIMEOUT_S: Final = 2.0
# At most this many warnings are kept in a stored discovery outcome.
MAX_STORED_WARNINGS: Final = 50

# --- Job types (docs/design.md §7) ----------------------------------------------------------------
JOB_TYPE_CHAT: Final = "Azure OpenAI Chat Completion"
JOB_TYPE_EMBEDDING: Final = "Azure OpenAI Embedding"
JOB_TYPE_BATCH: Final = "Azure OpenAI Batch Job"

# --- Job attribute names (set by administrators on a definition) ---------------------------
ATTR_DEPLOYMENT_NAME: Final = "Deployment Name"
ATTR_SYSTEM_PROMPT: Final = "OpenAI System Prompt"
ATTR_MAX_TOKENS: Final = "OpenAI Max Tokens"
ATTR_TEMPERATURE: Final = "OpenAI Temperature"
ATTR_MAX_TOKENS_LIMIT: Final = "OpenAI Max Tokens Limit"  # an administrator's ceiling
ATTR_SYSTEM_PROMPT_LOCKED: Final = "OpenAI System Prompt Locked"  # runs may not send their own
ATTR_REASONING_EFFORT: Final = "OpenAI Reasoning Effort"
ATTR_BACKGROUND: Final = "OpenAI Background"  # true: run in the Responses API's background mode
ATTR_INPUT_FILE_ID: Final = "OpenAI Input File ID"
ATTR_BATCH_ENDPOINT: Final = "OpenAI Batch Endpoint"
ATTR_COMPLETION_WINDOW: Final = "OpenAI Completion Window"

# --- Batch jobs (docs/design.md §6) ---------------------------------------------------------------
DEFAULT_BATCH_ENDPOINT: Final = "/chat/completions"
DEFAULT_COMPLETION_WINDOW: Final = "24h"
# Azure's batch statuses, compared without case and underscores ("InProgress" = "in_progress").
BATCH_RUNNING: Final = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
BATCH_SUCCEEDED: Final = "completed"
BATCH_FAILED: Final = frozenset({"failed", "expired", "cancelled"})
# At most this many of Azure's batch errors are returned in a failed run's body.
MAX_BATCH_ERRORS: Final = 50

# --- Model profiles (docs/design.md §4) ----------------------------------------------------------
# Profiles Azure's refusals taught the process are kept for this many deployments.
LEARNED_PROFILES_MAX: Final = 256

# --- Status links (docs/design.md §6) ---------------------------------------------------------
# A status link is valid this long; it names one run and is signed with STATUS_LINK_SECRET.
STATUS_LINK_TTL_S: Final = 30 * 24 * 3600
STATUS_LINK_SECRET_MIN_LEN: Final = 32

# --- This app's own URLs ---------------------------------------------------------------------
ROUTE_PREFIX: Final = "api"  # host.json extensions.http.routePrefix (the default)
FUNCTION_KEY_PARAM: Final = "code"
FUNCTION_KEY_HEADER: Final = "x-functions-key"

PORTAL_MONITOR_URL: Final = (
    "https://portal.azure.com/#@/resource/subscriptions/{subscription}/resourceGroups/"
    "{resource_group}/providers/Microsoft.CognitiveServices/accounts/{account}/overview"
)
# The registry cache keeps this many definitions (least recently used out first), and apart from
# them this many External Ids that have none (unknown names cannot evict real jobs).
REGISTRY_CACHE_MAX_ENTRIES: Final = 1024
REGISTRY_CACHE_MAX_ABSENT: Final = 256
