"""Polysync's Azure OpenAI jobs as Azure Functions (v2 programming model).

Only triggers and routes live here: each handler hands the request to one function of the
`shared` package. Nothing is read or built at import time, so a missing setting can never
break indexing ("0 functions found"); it fails the call that needs it with `NotConfigured`.
"""

import logging

import azure.functions as func

from shared import runs, wiring
from shared.web import caller, handle

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
logger = logging.getLogger("function_app")


@app.route(route="chat/{deployment}", methods=["POST"])
def chat_run(req: func.HttpRequest) -> func.HttpResponse:
    deployment = req.route_params.get("deployment", "")
    return handle("chat_run", lambda: runs.chat(deployment, req.get_body(), wiring.runner))


@app.route(route="embeddings/{deployment}", methods=["POST"])
def embedding_run(req: func.HttpRequest) -> func.HttpResponse:
    deployment = req.route_params.get("deployment", "")
    return handle(
        "embedding_run", lambda: runs.embedding(deployment, req.get_body(), wiring.runner)
    )


@app.route(route="batches/{deployment}", methods=["POST"])
def batch_run(req: func.HttpRequest) -> func.HttpResponse:
    deployment = req.route_params.get("deployment", "")
    return handle(
        "batch_run",
        lambda: runs.batch(deployment, req.get_body(), caller(req), wiring.runner),
    )


@app.route(route="status/{run_id}", methods=["GET"])
def run_status(req: func.HttpRequest) -> func.HttpResponse:
    run_id, deployment = req.route_params.get("run_id", ""), req.params.get("deployment")
    return handle(
        "run_status", lambda: runs.run_status(run_id, deployment, caller(req), wiring.runner)
    )


@app.timer_trigger(arg_name="timer", schedule="%DISCOVERY_SCHEDULE%", use_monitor=True)
def discovery_sync(timer: func.TimerRequest) -> None:
    if timer.past_due:
        logger.warning("discovery_sync is running late (past due)")
    handle("discovery_sync", lambda: wiring.discoverer().sync("timer"))


@app.route(route="discovery", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def discovery_run(req: func.HttpRequest) -> func.HttpResponse:
    return handle("discovery_run", lambda: wiring.discoverer().sync("http"))


@app.route(route="jobs", methods=["GET"])
def jobs_list(req: func.HttpRequest) -> func.HttpResponse:
    job_type, include_retired = req.params.get("job_type"), req.params.get("include_retired")
    return handle(
        "jobs_list",
        lambda: runs.list_jobs(wiring.discoverer().writer, job_type, include_retired),
    )


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return handle(
        "health", lambda: runs.health_report(*wiring.settings_or_problem(), wiring.last_discovery)
    )
