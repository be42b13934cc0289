#!/usr/bin/env bash
# `make sam-invoke EVENT=events/<file>.json`: the function in Docker, through `sam local invoke`,
# against the local stack, with dummy credentials. Uses the stack on the e2e network's gateway if
# one runs there (`make stack HOST=10.213.7.1 SEED=1 ALLOW_NON_LOOPBACK=1`), else starts one with
# the demo estate for this invoke only. The README shows these commands as its long form
# ("Invoking by hand, and sam local invoke"; tests/unit/test_readme_commands.py keeps them equal).
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENT="${1:-events/dry-run.json}"
[ -f "$EVENT" ] || { echo "no event file $EVENT: give one of events/*.json" >&2; exit 2; }
source tests/e2e/prepare.sh

STACK_URL="http://10.213.7.1:4566"  # env.json's AWS_ENDPOINT_URL: where the container finds the stack
if PYTHONPATH=local .venv/bin/python -c "import sys; from localaws.invoke import stack_answers; sys.exit(not stack_answers('$STACK_URL'))"; then
  echo "== the local stack at $STACK_URL (already running: its estate and snapshot carry over)"
else
  echo "== no stack at $STACK_URL: starting one for this invoke, seeding the demo estate (log: /tmp/numberwatch-sam-stack.log)"
  setsid make stack HOST=10.213.7.1 SEED=1 ALLOW_NON_LOOPBACK=1 >/tmp/numberwatch-sam-stack.log 2>&1 &
  STACK_PGID=$!
  trap 'kill -- -$STACK_PGID 2>/dev/null || true' EXIT
  for _ in $(seq 1 180); do grep -qx ready /tmp/numberwatch-sam-stack.log && break; sleep 1; done
  grep -qx ready /tmp/numberwatch-sam-stack.log || { tail -20 /tmp/numberwatch-sam-stack.log; exit 1; }
fi

# The long form
make build ARCH=x86_64
PYTHONPATH=local .venv/bin/python -m localaws.invoke --endpoint-url http://10.213.7.1:4566 --deploy-only
env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  .venv/bin/sam local invoke ScanNumbersFunction --event "$EVENT" --env-vars env.json \
  --docker-network numberwatch-e2e --invoke-image "$E2E_INVOKE_IMAGE" --skip-pull-image \
  --parameter-overrides Architecture=x86_64
PYTHONPATH=local .venv/bin/python -m localaws.invoke --endpoint-url http://10.213.7.1:4566 --published
