"""The dependency locks (.ci/locks.py): fresh, hashed, installed with --require-hashes, and a stale
one is caught offline."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
LOCKS_SCRIPT = ROOT / ".ci" / "locks.py"
PIN = re.compile(r"^([A-Za-z0-9_.\[\],-]+)==([^\s;]+)")


def load_locks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_locks", LOCKS_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through it
    spec.loader.exec_module(module)
    return module


locks = load_locks()


def requirements(path: Path) -> list[tuple[str, list[str]]]:
    """(pin line, its hashes) of each requirement in a lock: continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", path.read_text())
    found = []
    for line in joined.splitlines():
        if PIN.match(line):
            found.append((line.split()[0], re.findall(r"--hash=sha256:([0-9a-f]{64})", line)))
    return found


def copy_of_the_lock_inputs(tmp_path: Path) -> Path:
    """The locks and every file they are made from, laid out as in the repository."""
    for lock in locks.LOCKS:
        for path in [ROOT / lock.output, *locks.inputs(lock, ROOT)]:
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    return tmp_path


def stale(root: Path) -> list[str]:
    return [lock.output for lock in locks.LOCKS if locks.is_stale(lock, root)]


def test_every_lock_is_fresh() -> None:
    assert stale(ROOT) == []


def test_every_pin_of_every_lock_is_exact_and_hashed() -> None:
    for lock in locks.LOCKS:
        pinned = requirements(ROOT / lock.output)
        assert pinned, lock.output
        assert [pin for pin, hashes in pinned if not hashes] == [], lock.output


def test_a_new_dev_dependency_makes_only_the_dev_lock_stale(tmp_path: Path) -> None:
    # Given a copy of the locks and their inputs
    root = copy_of_the_lock_inputs(tmp_path)
    assert stale(root) == []
    # When a dependency is added to the dev requirements without `make lock`
    with (root / "requirements-dev.txt").open("a") as dev:
        dev.write("regex==2026.11.19\n")
    # Then the check names the dev lock, and nothing else
    assert stale(root) == ["requirements-dev.lock"]
    completed = subprocess.run(
        [sys.executable, str(LOCKS_SCRIPT), "--check", "--root", str(root)], capture_output=True, text=True
    )
    assert completed.returncode == 1
    assert "requirements-dev.lock is stale" in completed.stdout and "make lock" in completed.stdout


def test_a_changed_layer_pin_makes_the_layer_lock_stale_then_the_locks_that_include_it(tmp_path: Path) -> None:
    root = copy_of_the_lock_inputs(tmp_path)
    layer_input = root / "layers/numberwatch/requirements.in"
    layer_input.write_text(layer_input.read_text().replace("boto3==1.43.108", "boto3==1.43.109"))
    assert stale(root) == ["layers/numberwatch/requirements.txt"]
    # Once the layer's lock is regenerated, the dev lock that includes it is stale in turn
    layer_lock = root / "layers/numberwatch/requirements.txt"
    layer_lock.write_text(layer_lock.read_text().replace("boto3==1.43.108", "boto3==1.43.109"))
    assert "requirements-dev.lock" in stale(root)


def test_the_layer_lock_keeps_the_pins_of_its_input() -> None:
    lock_pins = {pin.split("[")[0].split("==")[0].lower(): pin.split("==")[1] for pin, _ in
                 requirements(ROOT / "layers/numberwatch/requirements.txt")}  # fmt: skip
    input_pins = [PIN.match(line) for line in (ROOT / "layers/numberwatch/requirements.in").read_text().splitlines()]
    for match in filter(None, input_pins):
        assert lock_pins[match.group(1).split("[")[0].lower()] == match.group(2)


def test_every_pip_install_of_the_makefile_checks_hashes() -> None:
    installs = [line for line in (ROOT / "Makefile").read_text().splitlines() if "pip install" in line]
    assert installs
    # The project itself is installed from this checkout with nothing fetched (no index, no dependencies).
    from_outside = [line for line in installs if not ("--no-index" in line and "--no-deps" in line)]
    assert [line for line in from_outside if "--require-hashes" not in line] == []
