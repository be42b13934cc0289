# Sourced by tests/e2e/run.sh (`make e2e`) and tests/e2e/sam_invoke.sh (`make sam-invoke`): what
# `sam local invoke` needs on this machine, prepared once and reused after.
#   - Debian's docker.io daemon, started if it is not running;
#   - a Lambda Python 3.13 image built here (tests/e2e/lambda_image.sh), tagged by a digest of its
#     inputs: $E2E_INVOKE_IMAGE, passed to `sam local invoke --invoke-image ... --skip-pull-image`;
#   - a docker network of our own, whose gateway $E2E_GATEWAY the local stack listens on: SAM 1.170
#     runs containers on a bridge network even with --docker-network host, so 127.0.0.1 is out of reach;
#   - a Python 3.13 for `sam build` (`make build`, which finds pyenv's too).
E2E_NETWORK="numberwatch-e2e"
E2E_SUBNET="10.213.7.0/24"
E2E_GATEWAY="10.213.7.1"

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || [ ! -s /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  echo "== installing docker.io, debootstrap and debian-archive-keyring (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap debian-archive-keyring >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "== starting dockerd (log: /tmp/numberwatch-dockerd.log)"
  nohup dockerd >/tmp/numberwatch-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null
fi
echo "== the Lambda Python 3.13 image (built once per change of its inputs; a few minutes)"
E2E_INVOKE_IMAGE="$(bash tests/e2e/lambda_image.sh)"
docker network inspect "$E2E_NETWORK" >/dev/null 2>&1 \
  || docker network create --subnet "$E2E_SUBNET" --gateway "$E2E_GATEWAY" "$E2E_NETWORK" >/dev/null
export E2E_NETWORK E2E_GATEWAY E2E_INVOKE_IMAGE
