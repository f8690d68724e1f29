"""``python -m local.simulator``: serve the simulator for local runs until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from local.simulator.arm import (
    DEFAULT_ACCOUNT,
    DEFAULT_ARM_PAGE_SIZE,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_SUBSCRIPTION_ID,
)
from local.simulator.batch_store import DEFAULT_BATCH_STEP_S
from local.simulator.identity import DEFAULT_IDENTITY_HEADER
from local.simulator.models import DEFAULT_DEPLOYMENTS, REASONING_DEPLOYMENTS, load_deployments
from local.simulator.response_store import DEFAULT_RESPONSE_STEP_S
from local.simulator.simulator import DEFAULT_API_KEY, DEFAULT_HOST, Simulator

DEFAULT_CLI_PORT = 7072
DEPLOYMENTS_FILE_ENV = "SIM_DEPLOYMENTS_FILE"
# What `make run` and `python -m local.simulator` serve without a deployments file.
SERVED_DEPLOYMENTS = (*DEFAULT_DEPLOYMENTS, *REASONING_DEPLOYMENTS)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.simulator",
        description="Serve a simulated Azure OpenAI + managed-identity endpoint.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    parser.add_argument(
        "--deployments",
        default=os.environ.get(DEPLOYMENTS_FILE_ENV),
        metavar="FILE.json",
        help=f"JSON list of deployments (default: ${DEPLOYMENTS_FILE_ENV}, else the built-ins: "
        + ", ".join(d.name for d in SERVED_DEPLOYMENTS)
        + ")",
    )
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--identity-header", default=DEFAULT_IDENTITY_HEADER)
    parser.add_argument("--subscription-id", default=DEFAULT_SUBSCRIPTION_ID)
    parser.add_argument("--resource-group", default=DEFAULT_RESOURCE_GROUP)
    parser.add_argument("--account", default=DEFAULT_ACCOUNT, help="for ARM listing")
    parser.add_argument("--arm-page-size", type=int, default=DEFAULT_ARM_PAGE_SIZE)
    parser.add_argument(
        "--batch-step-s",
        type=float,
        default=DEFAULT_BATCH_STEP_S,
        help="seconds a batch spends in each state (0 = done at its first read)",
    )
    parser.add_argument(
        "--response-step-s",
        type=float,
        default=DEFAULT_RESPONSE_STEP_S,
        help="seconds a background response spends queued, then in_progress (0 = done at its "
        "first read)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT (Ctrl-C) or SIGTERM."""
    args = parse_args(argv)
    try:
        deployments = load_deployments(args.deployments) if args.deployments else None
    except (OSError, TypeError, ValueError) as error:
        print(f"cannot load deployments from {args.deployments}: {error}", file=sys.stderr)
        return 2
    simulator = Simulator(
        SERVED_DEPLOYMENTS if deployments is None else deployments,
        api_key=args.api_key,
        identity_header=args.identity_header,
        host=args.host,
        port=args.port,
        latency_s=args.latency_s,
        verbose=args.verbose,
        subscription_id=args.subscription_id,
        resource_group=args.resource_group,
        account=args.account,
        arm_page_size=args.arm_page_size,
        batch_step_s=args.batch_step_s,
        response_step_s=args.response_step_s,
    ).start()
    print(f"Azure OpenAI simulator: {simulator.url}", flush=True)
    print(f"Identity endpoint:      {simulator.identity_endpoint}", flush=True)
    print(f"ARM deployments:        {simulator.arm_deployments_url}", flush=True)
    print(f"Deployments:            {', '.join(d.name for d in simulator.deployments)}", flush=True)
    done = threading.Event()
    # Explicit handlers: a shell starting us in the background (make run &) ignores SIGINT.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        while not done.wait(1.0):
            pass
    finally:
        simulator.stop()
    return 0
