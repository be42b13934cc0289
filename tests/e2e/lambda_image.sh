#!/usr/bin/env bash
# A Lambda-compatible Python 3.13 base image, built here because no registry is reachable:
# a Debian bookworm rootfs (debootstrap), this machine's Python 3.13 (pyenv, built on the same
# Debian release), awslambdaric from PyPI, and the official image's entrypoint contract
# (/lambda-entrypoint.sh, /var/runtime/bootstrap, /var/task). Tagged as our own image, passed to
# `sam local invoke --invoke-image`, so it never shadows public.ecr.aws/lambda/python.
set -euo pipefail
TAG="${1:-connect-number-watch/lambda-python:3.13-local}"
if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "image $TAG is there"
  exit 0
fi
PYTHON_PREFIX="$(PYENV_VERSION=3.13.0 pyenv prefix)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOTFS="$WORK/rootfs"
echo "debootstrap bookworm into $ROOTFS"
debootstrap --variant=minbase --include=ca-certificates,libexpat1,libssl3,zlib1g,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,libreadline8,libncursesw6 \
  bookworm "$ROOTFS" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
mkdir -p "$ROOTFS$PYTHON_PREFIX" "$ROOTFS/var/lang/bin" "$ROOTFS/var/runtime" "$ROOTFS/var/task" "$ROOTFS/opt"
cp -a "$PYTHON_PREFIX/." "$ROOTFS$PYTHON_PREFIX/"
ln -sf "$PYTHON_PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python3.13"
ln -sf "$PYTHON_PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python3"
ln -sf "$PYTHON_PREFIX/bin/python3.13" "$ROOTFS/var/lang/bin/python"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
"$PYTHON_PREFIX/bin/python3.13" -m pip install --quiet --target "$ROOTFS/var/runtime" awslambdaric==3.1.1
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
echo "built $TAG"
