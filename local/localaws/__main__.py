"""`python -m localaws`: run the local AWS stack in the foreground (what `make stack` does)."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import sys
import threading

from .lambda_runtime import CLIENT_ENVIRONMENT
from .stack import DEFAULT_HOST, DEFAULT_PORT, LocalStack


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def start_messages(endpoint_url: str) -> list[str]:
    """What a user needs to point clients at the stack, and what to expect of its Connect."""
    variables = " ".join(f"{k}={v}" for k, v in {"AWS_ENDPOINT_URL": endpoint_url, **CLIENT_ENVIRONMENT}.items())
    return [
        f"local AWS stack on {endpoint_url}; in another shell, point clients at it (dummy credentials):",
        f"export {variables}",
        "Connect's default quota is on: 2 requests/s, burst 5, per account, Region and API (the AWS CLI and boto3 "
        "retry throttled calls without a word). Lift it: "
        f"curl -X POST -d '{{\"enabled\": false}}' {endpoint_url}/connect-emulator/quotas",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localaws", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_STACK_PORT", DEFAULT_PORT)))
    parser.add_argument("--seed-demo", action="store_true", help="seed the demo estate once the stack is up")
    parser.add_argument(
        "--allow-non-loopback", action="store_true", help="listen on a host other than loopback (no authentication)"
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_non_loopback:
        parser.error(f"refusing to listen on {args.host} without --allow-non-loopback: the stack has no authentication")
    stack = LocalStack(args.host, args.port)
    for line in start_messages(stack.endpoint_url):
        print(line, flush=True)
    if args.seed_demo:
        from .demo import seed_demo_estate

        def seed() -> None:
            print("seeding the demo estate ...", flush=True)
            estate = seed_demo_estate(stack.endpoint_url)
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
