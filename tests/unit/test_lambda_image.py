"""The e2e tier's Lambda image is tagged by a digest of its inputs, so a changed input is a rebuild,
and it is built from checked downloads only."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
E2E = ROOT / "tests" / "e2e"
FILES = ("lambda_image.sh", "lambda-image.lock", "python313.sh")


def tag(folder: Path) -> str:
    completed = subprocess.run(
        ["bash", str(folder / "lambda_image.sh"), "--tag"], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def copy_of_the_image_inputs(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(E2E / name, tmp_path / name)
    return tmp_path


def test_the_tag_is_a_digest_of_the_inputs_and_stays_while_they_do(tmp_path: Path) -> None:
    folder = copy_of_the_image_inputs(tmp_path)
    first = tag(folder)
    assert first.startswith("connect-number-watch/lambda-python:3.13-")
    assert tag(folder) == first == tag(E2E)


def test_the_tag_changes_when_the_script_changes(tmp_path: Path) -> None:
    folder = copy_of_the_image_inputs(tmp_path)
    before = tag(folder)
    script = folder / "lambda_image.sh"
    script.write_text(script.read_text().replace("libsqlite3-0,", "libsqlite3-0,curl,"))
    assert tag(folder) != before


def test_the_tag_changes_when_the_runtime_client_lock_changes(tmp_path: Path) -> None:
    folder = copy_of_the_image_inputs(tmp_path)
    before = tag(folder)
    lock = folder / "lambda-image.lock"
    lock.write_text(lock.read_text().replace("awslambdaric==3.1.1", "awslambdaric==3.1.2"))
    assert tag(folder) != before


def test_downloads_are_checked_debootstrap_against_the_archive_keyring_and_pip_against_hashes() -> None:
    script = (E2E / "lambda_image.sh").read_text()
    debootstrap = next(line for line in script.splitlines() if line.startswith("debootstrap "))
    assert '--keyring="$KEYRING"' in debootstrap and "--force-check-gpg" in debootstrap
    assert "KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg" in script
    pip = next(line for line in script.splitlines() if "-m pip install" in line)
    assert "--require-hashes" in pip and '-r "$LOCK"' in pip
