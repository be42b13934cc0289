#!/usr/bin/env bash
# The browser tier's one dependency: Debian's chromium. Installed with apt-get when it is missing and
# this shell may (root, apt-get present); otherwise say why, and the tier skips. Never fails the build.
set -uo pipefail
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "browser tier: $("$name" --version 2>/dev/null | tail -1)"
    exit 0
  fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser tier: no chromium, and apt-get is not usable here (not root, or not Debian): the tier skips"
  exit 0
fi
echo "browser tier: installing Debian's chromium with apt-get (a few minutes the first time)"
export DEBIAN_FRONTEND=noninteractive
if ! { timeout 300 apt-get update -qq && timeout 600 apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core; } >/tmp/numberwatch-chromium-install.log 2>&1; then
  tail -5 /tmp/numberwatch-chromium-install.log
  echo "browser tier: chromium could not be installed (log: /tmp/numberwatch-chromium-install.log): the tier skips"
fi
exit 0
