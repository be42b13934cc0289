"""The README's commands do not drift from what is tested: every `make` line names a target and
variables the Makefile has, the long form of `make sam-invoke` is what the target runs, and the
configuration table says which settings are template parameters as the template does."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from localaws.template import template

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
SAM_INVOKE = (ROOT / "tests" / "e2e" / "sam_invoke.sh").read_text()
LONG_FORM_MARKER = "<!-- the long form of make sam-invoke: tests/e2e/sam_invoke.sh -->"


def commands(shell: str) -> list[str]:
    """Commands of a shell text: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", shell)
    found = []
    for line in joined.splitlines():
        command = re.sub(r"\s+#\s.*$", "", line).strip()
        if command and not command.startswith("#"):
            found.append(re.sub(r"\s+", " ", command))
    return found


def bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)


def make_invocations() -> list[list[str]]:
    """The arguments of every `make` the README's shell blocks run."""
    found = []
    for block in bash_blocks(README):
        for command in commands(block):
            for part in re.split(r"&&|;", command):
                words = shlex.split(part)
                if words[:1] == ["make"]:
                    found.append(words[1:])
    return found


def test_every_make_command_in_the_readme_is_a_target_that_uses_the_variables_given() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, flags=re.MULTILINE))
    invocations = make_invocations()
    assert ["invoke", "EVENT=events/dry-run.json"] in invocations
    assert ["sam-invoke", "EVENT=events/dry-run.json"] in invocations
    for arguments in invocations:
        for argument in arguments:
            if "=" in argument:
                variable = argument.split("=")[0]
                assert f"$({variable})" in MAKEFILE or f"$${{{variable}" in MAKEFILE, argument
            else:
                assert argument in targets, argument


def test_the_readme_long_form_is_what_make_sam_invoke_runs() -> None:
    block = bash_blocks(README[README.index(LONG_FORM_MARKER) :])[0]
    readme = commands(block)
    script = commands(SAM_INVOKE)
    # Up to the event, each step is inside a command of the script (which adds logs and checks) ...
    event = next(i for i, command in enumerate(readme) if command.startswith("EVENT="))
    default = readme[event].split("=", 1)[1]
    assert f'EVENT="${{1:-{default}}}"' in script
    position = 0
    for step in readme[:event]:
        position = next(i for i, command in enumerate(script[position:], position) if step in command)
    # ... and from the event on, the README's commands are the script's last ones, word for word.
    tail = readme[event + 1 :]
    assert script[-len(tail) :] == tail
    assert script.index("make build ARCH=x86_64") > position


def test_sam_local_invoke_gets_dummy_credentials_and_no_profile_of_the_shell() -> None:
    sam = next(command for command in commands(SAM_INVOKE) if "sam local invoke" in command)
    words = shlex.split(sam)
    assert words[0] == "env"
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        assert words[words.index(variable) - 1] == "-u"
    assert "AWS_ACCESS_KEY_ID=local" in words and "AWS_SECRET_ACCESS_KEY=local" in words
    assert words[words.index("--env-vars") + 1] == "env.json"


def test_env_json_points_at_the_e2e_gateway_and_names_what_the_readme_names() -> None:
    variables = json.loads((ROOT / "env.json").read_text())["ScanNumbersFunction"]
    gateway = re.search(r'E2E_GATEWAY="([\d.]+)"', (ROOT / "tests" / "e2e" / "prepare.sh").read_text())
    assert gateway is not None
    assert variables["AWS_ENDPOINT_URL"] == f"http://{gateway.group(1)}:4566"
    assert f"table `{variables['TABLE_NAME']}`" in README
    assert f"topic `{variables['TOPIC_ARN'].split(':')[-1]}`" in README
    # Credentials cannot be set there (SAM overrides only declared variables): the target sets them.
    assert not [name for name in variables if name.startswith("AWS_") and name != "AWS_ENDPOINT_URL"]


def references(value: object) -> set[str]:
    """Every name a CloudFormation value `Ref`s, through If, Sub and the rest."""
    if isinstance(value, dict):
        found = {value["Ref"]} if isinstance(value.get("Ref"), str) else set()
        return found.union(*(references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(references(v) for v in value))
    return set()


def test_the_configuration_table_names_the_template_parameter_of_each_setting() -> None:
    section = README[README.index("## Configuration") : README.index("## Invoking by hand")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    environment = template()["Resources"]["ScanNumbersFunction"]["Properties"]["Environment"]["Variables"]
    parameters = set(template()["Parameters"])
    covered = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        variables = re.findall(r"`([A-Z_]+)`", cells[0])
        named = set(re.findall(r"`(\w+)`", cells[-1]))
        expected = {ref for name in variables for ref in references(environment.get(name)) if ref in parameters}
        assert named == expected, row
        covered += variables
    assert set(covered) >= {name for name in environment if not name.startswith(("POWERTOOLS_", "AWS_"))}
