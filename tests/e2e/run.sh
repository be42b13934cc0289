#!/usr/bin/env bash
# The e2e tier: the real SAM CLI. `sam build`, then `sam local invoke` with events from events/,
# against the local stack (tests/e2e/test_sam_local_invoke.py). The preparation (Docker's daemon,
# the image, the network) is tests/e2e/prepare.sh, shared with `make sam-invoke`.
# The test allows that one non-loopback bind explicitly; the stack's control APIs stay on loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/e2e/prepare.sh

echo "== sam build (make build ARCH=x86_64)"
make --no-print-directory build ARCH=x86_64 >/tmp/numberwatch-sam-build.log 2>&1 \
  || { tail -30 /tmp/numberwatch-sam-build.log; exit 1; }

echo "== sam local invoke, against the local stack on $E2E_GATEWAY"
E2E_HOST="$E2E_GATEWAY" .venv/bin/pytest -m e2e tests/e2e -p no:cacheprovider -s
