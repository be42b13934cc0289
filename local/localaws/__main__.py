"""`python -m localaws`: run the local AWS stack in the foreground (what `make stack` does)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading

from .guard import NonLoopbackBind
from .stack import DEFAULT_HOST, DEFAULT_PORT, LocalStack


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
    print(f"local AWS stack on {stack.endpoint_url} (export AWS_ENDPOINT_URL={stack.endpoint_url})", flush=True)
    if stack.control_url != stack.endpoint_url:
        print(f"control APIs on {stack.control_url} (loopback clients only)", flush=True)
    if args.seed_demo:
        from .demo import seed_demo_estate

        def seed() -> None:
            estate = seed_demo_estate(stack.control_url)
            print(f"demo estate seeded: {estate.summary()}", flush=True)

        threading.Thread(target=seed, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        stack.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
