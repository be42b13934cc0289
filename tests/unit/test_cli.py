"""`numberwatch` without AWS: what it prints is data, never layout; exit codes; the pace's estimate."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import Progress
from typer.testing import CliRunner

from localaws.template import resource
from numberwatch.adapters import dynamodb
from numberwatch.models import RunStatus, RunSummary
from numberwatch_cli import context
from numberwatch_cli.app import app
from numberwatch_cli.commands.progress import ScanProgress, pages_for, seconds_left
from numberwatch_cli.commands.scan import RUN_PARAMETERS, needs_attention, settings_for
from numberwatch_cli.commands.status import problems
from numberwatch_cli.context import DEFAULT_STACK_NAME, Context, samconfig_stack_name
from numberwatch_cli.output import as_csv, csv_cell, plain, table

TDG = "arn:aws:connect:us-east-1:123456789012:traffic-distribution-group/6c39"
INSTANCE = "arn:aws:connect:us-west-2:123456789012:instance/4ab9"


@pytest.mark.parametrize(
    "cell", ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_a_csv_cell_a_spreadsheet_would_run_gets_a_leading_quote(cell: str) -> None:
    assert csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["+1206555\u0660\u0661\u0662\u0663"])
def test_a_csv_cell_of_a_plus_and_unicode_digits_is_no_number_and_gets_a_leading_quote(cell: str) -> None:
    assert csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["+12065550100", "front desk", "a=b", ""])
def test_a_csv_cell_that_runs_nothing_is_kept_as_it_is(cell: str) -> None:
    assert csv_cell(cell) == cell


def test_csv_keeps_commas_quotes_and_newlines_inside_their_cell() -> None:
    rows = [{"phone_number": "+12065550100", "description": 'a, "b"\nc'}]
    parsed = list(csv.DictReader(io.StringIO(as_csv(("phone_number", "description"), rows))))
    assert parsed == [{"phone_number": "+12065550100", "description": 'a, "b"\nc'}]


def test_text_from_connect_cannot_lay_out_the_terminal() -> None:
    # Given a description with Rich markup, an escape sequence, a newline and a bidirectional override
    hostile = "[bold red]pwned[/] [link=http://evil]x[/link]\x1b[2J\nfake line\u202etxt"
    # When it is shown in a table
    console = Console(record=True, width=300, force_terminal=True, color_system="truecolor")
    console.print(table("Numbers", ("description",), [{"description": hostile}]))
    shown = console.export_text(styles=False)
    # Then the markup is literal text, and no control character reaches the screen
    assert "[bold red]pwned[/] [link=http://evil]x[/link]" in shown
    assert "\x1b" not in shown and "\u202e" not in shown
    (row,) = [line for line in shown.splitlines() if "pwned" in line]
    assert "fake linetxt" in row  # the newline did not start a line of its own
    assert plain(hostile) == "[bold red]pwned[/] [link=http://evil]x[/link][2J fake linetxt"


@pytest.mark.parametrize("number", ["not a number", "+1206555\u0660\u0661\u0662\u0663", "+12065550100\n"])
def test_a_bad_number_is_a_usage_error_before_any_aws_call(number: str) -> None:
    # (digits are ASCII ones: Arabic-Indic digits would look for a number no listing can hold)
    result = CliRunner().invoke(app, ["history", number])
    assert result.exit_code == 2
    assert "neither an E.164 number" in result.stderr


def test_a_month_that_is_not_yyyy_mm_is_a_usage_error_before_any_aws_call() -> None:
    result = CliRunner().invoke(app, ["report", "--month", "2026-13"])
    assert result.exit_code == 2
    assert "give --month as YYYY-MM" in result.stderr


def test_an_unknown_format_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["inventory", "--format", "xml"])
    assert result.exit_code == 2


def test_every_command_has_help() -> None:
    for command in ("scan", "inventory", "history", "unrouted", "status", "verify", "report"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage: " in result.stdout, command


def test_the_stack_name_is_samconfig_s(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "numbers-prod"\n'
    )
    assert samconfig_stack_name(tmp_path) == "numbers-prod"
    assert samconfig_stack_name(tmp_path / "elsewhere") == DEFAULT_STACK_NAME


def test_at_one_request_a_second_a_page_of_1000_numbers_is_a_second() -> None:
    assert [pages_for(n) for n in (0, 1, 1000, 1001, 100_000)] == [1, 1, 1, 2, 100]
    # Regions run in parallel: the slowest Region's pages decide
    assert seconds_left({"us-east-1": 90, "us-west-2": 30}, 1.0) == 90
    assert seconds_left({"us-east-1": 90}, 2.0) == 45


def _page(progress: ScanProgress, target: str, numbers: int, last: bool) -> None:
    context: dict[str, Any] = {}
    progress._before_listing(params={"TargetArn": target}, context=context)
    parsed = {"ListPhoneNumbersSummaryList": [{}] * numbers, **({} if last else {"NextToken": "t"})}
    progress._after_listing(parsed=parsed, context=context)


def test_the_progress_counts_pages_per_target_and_estimates_from_the_pace() -> None:
    # Given a TDG the snapshot knows with 100,000 numbers, and an instance it does not know yet
    with Progress(console=Console(file=io.StringIO())) as live:
        progress = ScanProgress(live, 1.0, {TDG: ("global", 100_000)})
        # When ten pages of the TDG have been listed, and the instance's only page
        for _ in range(10):
            _page(progress, TDG, 1000, last=False)
        _page(progress, INSTANCE, 12, last=True)
        # Then 90 pages are left in us-east-1, none in us-west-2: 90 s at one request a second
        assert progress.pages_left() == {"us-east-1": 90, "us-west-2": 0}
        assert "90 pages left, ~90 s" in str(live.tasks[0].description)
        assert progress.targets[TDG].numbers == 10_000 and progress.targets[INSTANCE].done


def test_a_partial_or_skipped_run_or_unsent_messages_need_attention() -> None:
    clean = RunSummary(run_id="r", status=RunStatus.COMPLETED)
    assert not needs_attention(clean)
    assert needs_attention(clean.model_copy(update={"status": RunStatus.SKIPPED}))
    assert needs_attention(clean.model_copy(update={"messages_pending": 2}))
    assert needs_attention(clean.model_copy(update={"targets_unobserved": [{"target_arn": TDG, "reason": "denied"}]}))


def test_status_names_what_needs_a_person() -> None:
    state: dict[str, Any] = {"runs": [{"status": "COMPLETED"}], "pending": [], "set_aside": [], "held_releases": []}
    assert problems(state) == []
    state.update(runs=[{"status": "PARTIAL"}], pending=[{}], held_releases=[{}])
    assert problems(state) == [
        "the last run is PARTIAL",
        "1 messages wait in the outbox (the next run sends them)",
        "releases are held on 1 targets (a suspected mass release)",
    ]


def test_the_index_names_the_commands_read_are_the_table_s() -> None:
    assert (context.UNSENT_INDEX, context.HISTORY_INDEX) == (dynamodb.UNSENT_INDEX, dynamodb.HISTORY_INDEX)


def test_with_the_bucket_named_no_stack_parameter_is_read() -> None:
    # Given the archive bucket named on the command line (as for the local stack), and no network
    named = Context("connect-number-watch", given={"bucket": "evidence"})
    # Then the report's defaults come from no stack: nothing is asked of CloudFormation
    assert named.parameter("RequiredTagKeys") is None


def test_a_laptop_scan_takes_the_parameters_the_stack_was_deployed_with_unless_the_shell_sets_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stack deployed with details asked for and a required tag, and a shell that lowers the budget
    for variable in RUN_PARAMETERS:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DESCRIBE_CALLS_PER_RUN", "50")
    deployed = Context("connect-number-watch", region="us-east-1")
    deployed.__dict__["stack"] = {
        "Parameters": [
            {"ParameterKey": "DetailCallsPerRun", "ParameterValue": "300"},
            {"ParameterKey": "DescribeCallsPerRun", "ParameterValue": "300"},
            {"ParameterKey": "RequiredTagKeys", "ParameterValue": "owner"},
            {"ParameterKey": "NumberPrices", "ParameterValue": ""},
        ],
        "Outputs": [
            {"OutputKey": "SnapshotTableName", "OutputValue": "numbers"},
            {"OutputKey": "NumberTopicArn", "OutputValue": "arn:aws:sns:us-east-1:123456789012:numbers"},
        ],
    }
    # When the scan command reads its settings
    settings = settings_for(deployed)
    # Then it runs as the nightly function does, but for what the shell set
    assert (settings.detail_calls_per_run, settings.required_tag_keys) == (300, ("owner",))
    assert settings.describe_calls_per_run == 50


def test_the_parameters_a_laptop_scan_takes_are_those_the_template_gives_the_function() -> None:
    variables = resource("ScanNumbersFunction")["Properties"]["Environment"]["Variables"]
    assert {variable: variables[variable] for variable in RUN_PARAMETERS} == {
        variable: {"Ref": name} for variable, name in RUN_PARAMETERS.items()
    }
