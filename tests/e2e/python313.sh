#!/usr/bin/env bash
# Prints the path of a Python 3.13 interpreter (the Lambda runtime's version, which `sam build`
# needs): python3.13 on PATH if it runs, else the newest 3.13 that pyenv has (pyenv's shim for
# python3.13 fails unless 3.13 is the selected version, which is why `sam build` cannot find it).
set -euo pipefail
if python3.13 -c '' 2>/dev/null; then
  python3.13 -c 'import sys; print(sys.executable)'
  exit 0
fi
if command -v pyenv >/dev/null; then
  version="$(pyenv versions --bare | grep -E '^3\.13\.[0-9]+$' | sort -V | tail -1 || true)"
  if [ -n "$version" ]; then
    echo "$(pyenv root)/versions/$version/bin/python3.13"
    exit 0
  fi
fi
echo "no Python 3.13 found: install one (e.g. pyenv install 3.13) for sam build" >&2
exit 1
