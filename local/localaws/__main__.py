"""`python -m localaws`: run the local AWS stack in the foreground (what `make stack` does)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading

from .stack import DEFAULT_HOST, DEFAULT_PORT, LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="localaws", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_STACK_PORT", DEFAULT_PORT)))
    parser.add_argument("--seed-demo", action="store_true", help="seed the demo estate once the stack is up")
    args = parser.parse_args(argv)
    stack = LocalStack(args.host, args.port)
    print(f"local AWS stack on {stack.endpoint_url} (export AWS_ENDPOINT_URL={stack.endpoint_url})", flush=True)
    if args.seed_demo:
        from .demo import seed_demo_estate

        def seed() -> None:
            estate = seed_demo_estate(stack.endpoint_url)
            print(f"demo estate seeded: {estate.summary()}", flush=True)

        threading.Thread(target=seed, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        stack.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
