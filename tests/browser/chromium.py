"""Headless Chromium, driven from its command line (no Playwright, no driver): the page's DOM after it
ran, and a screenshot. Used by the browser tier and by `make screenshot`.

    python -m tests.browser.chromium screenshot <page.html> <out.png>
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# No sandbox (CI runs as root in a container); no network at all: every host name fails to resolve.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=3000",  # let any script (there should be none) run before the DOM is taken
)
TIMEOUT_SECONDS = 120


def find() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


def _run(binary: str, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=True)


def dump_dom(binary: str, page: Path) -> str:
    """The page's DOM, serialized after it loaded (and after any script on it ran)."""
    return _run(binary, page, "--dump-dom").stdout


def screenshot(binary: str, page: Path, png: Path, width: int = 1280, height: int = 2200) -> None:
    _run(binary, page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")


def main(arguments: list[str]) -> int:
    binary = find()
    if binary is None:
        print("no chromium on PATH (`make browser` installs Debian's where it can)", file=sys.stderr)
        return 1
    if len(arguments) != 3 or arguments[0] != "screenshot":
        print(__doc__, file=sys.stderr)
        return 2
    screenshot(binary, Path(arguments[1]), Path(arguments[2]))
    print(f"Saved {arguments[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
