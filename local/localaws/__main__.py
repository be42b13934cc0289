"""`python -m localaws`: run the local AWS stack in the foreground (what `make stack` does)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading

from .guard import NonLoopbackBind
from .lambda_runtime import CLIENT_ENVIRONMENT
from .stack import DEFAULT_HOST, DEFAULT_PORT, LocalStack


def start_messages(stack: LocalStack) -> list[str]:
    """What a user needs to point clients at the stack, and what to expect of its Connect."""
    endpoint_url = stack.endpoint_url
    variables = " ".join(f"{k}={v}" for k, v in {"AWS_ENDPOINT_URL": endpoint_url, **CLIENT_ENVIRONMENT}.items())
    lines = [
        f"local AWS stack on {endpoint_url}; in another shell, point clients at it (dummy credentials):",
        f"export {variables}",
        "Connect's default quota is on: 2 requests/s, burst 5, per account, Region and API (the AWS CLI and boto3 "
        "retry throttled calls without a word). Lift it: "
        f"curl -X POST -d '{{\"enabled\": false}}' {stack.control_url}/connect-emulator/quotas",
    ]
    if stack.control_url != endpoint_url:
        lines.append(f"control APIs on {stack.control_url} (loopback clients only)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localaws", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help="the address to listen on (loopback unless allowed)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_STACK_PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="listen on a non-loopback --host (the stack has no authentication: a docker network's gateway, "
        "never 0.0.0.0 on a shared network); the control APIs still answer loopback clients only",
    )
    parser.add_argument("--seed-demo", action="store_true", help="seed the demo estate once the stack is up")
    args = parser.parse_args(argv)
    try:
        stack = LocalStack(args.host, args.port, allow_non_loopback=args.allow_non_loopback)
    except NonLoopbackBind as refused:
        parser.error(str(refused))
    for line in start_messages(stack):
        print(line, flush=True)
    if args.seed_demo:
        from .demo import seed_demo_estate

        def seed() -> None:
            print("seeding the demo estate ...", flush=True)
            estate = seed_demo_estate(stack.control_url)
            print(f"demo estate seeded: {estate.total()} numbers on {len(estate.targets)} targets", flush=True)
            print("ready", flush=True)

        threading.Thread(target=seed, daemon=True).start()
    else:
        print("ready", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stack.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
