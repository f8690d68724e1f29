"""Polysync's Azure OpenAI jobs as Azure Functions (v2 programming model).

Only triggers and routes live here: each handler hands the request to one use-case of the
`shared` package. Nothing is read or built at import time, so a missing setting can never break
indexing ("0 functions found"); it fails the call that needs it with `NotConfigured`.

Cold start (docs/design.md §11): the host imports this module to index the functions, and on
Flex Consumption every new instance pays that import before its first answer. So only
azure-functions and `shared.web` load here; a use-case, and pydantic, the Azure SDKs and
requests with it, load on the first call that needs them.
"""

import logging

import azure.functions as func

from shared.web import Outcome, handle, invocation_trace, request_origin

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("function_app")


@app.route(route="chat/{deployment}", methods=["POST"])
def chat_run(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import wiring
        from shared.runs.chat import run_chat

        deployment, origin = req.route_params.get("deployment", ""), request_origin(req)
        return run_chat(deployment, req.get_body(), origin, wiring.services)

    return handle("chat_run", call, invocation_trace(context, req.headers))


@app.route(route="embeddings/{deployment}", methods=["POST"])
def embedding_run(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import wiring
        from shared.runs.embedding import run_embedding

        deployment = req.route_params.get("deployment", "")
        return run_embedding(deployment, req.get_body(), wiring.services)

    return handle("embedding_run", call, invocation_trace(context, req.headers))


@app.route(route="batches/{deployment}", methods=["POST"])
def batch_run(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import wiring
        from shared.runs.batch import submit_batch

        deployment, origin = req.route_params.get("deployment", ""), request_origin(req)
        return submit_batch(deployment, req.get_body(), origin, wiring.services)

    return handle("batch_run", call, invocation_trace(context, req.headers))


# Anonymous: a synchronous run id reveals nothing, and an asynchronous run is answered only for
# a status link this app signed for it (docs/design.md §6).
@app.route(route="status/{run_id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def run_status(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import wiring
        from shared.runs.links import StatusLink
        from shared.runs.status import poll_run

        run_id, deployment = req.route_params.get("run_id", ""), req.params.get("deployment")
        link = StatusLink(req.params.get("expires"), req.params.get("sig"))
        return poll_run(run_id, deployment, link, request_origin(req), wiring.services)

    return handle("run_status", call, invocation_trace(context, req.headers))


@app.timer_trigger(arg_name="timer", schedule="%DISCOVERY_SCHEDULE%", use_monitor=True)
def discovery_sync(timer: func.TimerRequest, context: func.Context) -> None:
    if timer.past_due:
        logger.warning("discovery_sync is running late (past due)")
    handle("discovery_sync", lambda: _discover("timer"), invocation_trace(context))


@app.route(route="discovery", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def discovery_run(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    trace = invocation_trace(context, req.headers)
    return handle("discovery_run", lambda: _discover("http"), trace)


def _discover(trigger: str) -> Outcome:
    from shared import wiring
    from shared.discovery.sync import sync_deployments

    return sync_deployments(trigger, wiring.services)


@app.route(route="jobs", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def jobs_list(req: func.HttpRequest) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import wiring
        from shared.jobs import list_jobs

        job_type, include_retired = req.params.get("job_type"), req.params.get("include_retired")
        return list_jobs(job_type, include_retired, wiring.services)

    return handle("jobs_list", call)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import health, wiring

        return health.health(wiring.settings_or_problem()[0])

    return handle("health", call)


@app.route(route="health/details", methods=["GET"])
def health_details(req: func.HttpRequest) -> func.HttpResponse:
    def call() -> Outcome:
        from shared import constants as c
        from shared import health, wiring

        settings, problem = wiring.settings_or_problem()
        return health.health_details(
            settings,
            problem,
            lambda: wiring.services().writer.last_outcome(c.OUTCOME_CACHE_TTL_S),
        )

    return handle("health_details", call)


# Anonymous, like health: API Management imports the contract from the running app. The document
# is generated from the code and names no setting (shared/openapi).
@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    def call() -> Outcome:
        from shared.openapi import served

        return served()

    return handle("openapi_document", call)
