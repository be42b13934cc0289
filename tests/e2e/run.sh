#!/usr/bin/env bash
# The e2e tier: the real SAM CLI. `sam build`, then `sam local invoke` with an event from events/,
# against the local stack. Prepares what SAM needs itself: Debian's docker.io daemon, a Lambda
# Python 3.13 image (the official one where it can be pulled, else one built here), and a docker
# network of our own whose gateway address the local stack listens on (SAM 1.170 runs
# containers on a bridge network even with --docker-network host, so 127.0.0.1 is out of reach).
# The test allows that one non-loopback bind explicitly; the stack's control APIs stay on loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
OFFICIAL="public.ecr.aws/lambda/python:3.13-x86_64"
LOCAL_IMAGE="connect-number-watch/lambda-python:3.13-local"
NETWORK="numberwatch-e2e"
SUBNET="10.213.7.0/24"
GATEWAY="10.213.7.1"

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  echo "== installing docker.io and debootstrap (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd"
  nohup dockerd >/tmp/numberwatch-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null
fi

if timeout 60 docker pull --quiet "$OFFICIAL" >/dev/null 2>&1; then
  IMAGE="$OFFICIAL"
else
  echo "== $OFFICIAL cannot be pulled here: using a locally built image"
  bash tests/e2e/lambda_image.sh "$LOCAL_IMAGE"
  IMAGE="$LOCAL_IMAGE"
fi
docker network inspect "$NETWORK" >/dev/null 2>&1 || docker network create --subnet "$SUBNET" --gateway "$GATEWAY" "$NETWORK" >/dev/null

echo "== sam build"
export SAM_CLI_TELEMETRY=0
PYENV_VERSION="${PYENV_VERSION:-3.11.7:3.13.0}" .venv/bin/sam build --parameter-overrides Architecture=x86_64 >/tmp/numberwatch-sam-build.log 2>&1 \
  || { tail -30 /tmp/numberwatch-sam-build.log; exit 1; }

echo "== sam local invoke, against the local stack on $GATEWAY"
E2E_INVOKE_IMAGE="$IMAGE" E2E_NETWORK="$NETWORK" E2E_HOST="$GATEWAY" \
  .venv/bin/pytest -m e2e tests/e2e -p no:cacheprovider -s
