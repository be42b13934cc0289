#!/usr/bin/env bash
# A Lambda-compatible Python 3.13 base image, built here because no registry is reachable:
# a Debian bookworm rootfs (debootstrap, every package checked against Debian's archive keyring),
# this machine's Python 3.13 (built on the same Debian release), awslambdaric installed from its
# lock with every hash checked, and the official image's entrypoint contract (/lambda-entrypoint.sh,
# /var/runtime/bootstrap, /var/task). Passed to `sam local invoke --invoke-image`, so it never
# shadows public.ecr.aws/lambda/python.
#
# The tag is a digest of what the image is made from (this script, the lock, the Python version),
# so a changed input means a new tag and a rebuild: an image is never trusted by its tag alone.
#
#   lambda_image.sh          build the image unless its tag exists; print the tag (stdout)
#   lambda_image.sh --tag    print the tag only
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LOCK="$HERE/lambda-image.lock"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MIRROR=http://deb.debian.org/debian
PYTHON313="$(bash "$HERE/python313.sh")"
DIGEST="$({ cat "$0" "$LOCK"; "$PYTHON313" --version; } | sha256sum | cut -c1-16)"
TAG="connect-number-watch/lambda-python:3.13-$DIGEST"
if [ "${1:-}" = "--tag" ]; then
  echo "$TAG"
  exit 0
fi
if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "image $TAG is there" >&2
  echo "$TAG"
  exit 0
fi
if [ ! -s "$KEYRING" ]; then
  echo "$KEYRING is missing: apt-get install debian-archive-keyring" >&2
  exit 1
fi
PYTHON_PREFIX="$(dirname "$(dirname "$PYTHON313")")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
echo "debootstrap bookworm into $ROOTFS (signatures checked against $KEYRING)" >&2
debootstrap --variant=minbase --keyring="$KEYRING" --force-check-gpg \
  --include=ca-certificates,libexpat1,libssl3,zlib1g,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libncursesw6 \
  bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
grep -q "Valid Release signature" "$WORK/debootstrap.log" || { echo "debootstrap checked no signature" >&2; exit 1; }
mkdir -p "$ROOTFS$PYTHON_PREFIX" "$ROOTFS/var/lang/bin" "$ROOTFS/var/runtime" "$ROOTFS/var/task" "$ROOTFS/opt"
cp -a "$PYTHON_PREFIX/." "$ROOTFS$PYTHON_PREFIX/"
ln -sf "$PYTHON_PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python3.13"
ln -sf "$PYTHON_PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python3"
ln -sf "$PYTHON_PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
"$PYTHON313" -m pip install --quiet --require-hashes --only-binary=:all: --target "$ROOTFS/var/runtime" -r "$LOCK" >&2
cat >"$ROOTFS/var/runtime/bootstrap" <<'BOOT'
#!/bin/sh
export PYTHONPATH="/var/runtime:/opt/python:/opt/python/lib/python3.13/site-packages:${PYTHONPATH:-}"
cd "${LAMBDA_TASK_ROOT:-/var/task}"
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
BOOT
cat >"$ROOTFS/lambda-entrypoint.sh" <<'ENTRY'
#!/bin/sh
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie $RUNTIME_ENTRYPOINT
else
  exec $RUNTIME_ENTRYPOINT
fi
ENTRY
chmod +x "$ROOTFS/var/runtime/bootstrap" "$ROOTFS/lambda-entrypoint.sh"
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV LANG=en_US.UTF-8 TZ=:/etc/localtime PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
  - "$TAG" >/dev/null
echo "built $TAG" >&2
echo "$TAG"
