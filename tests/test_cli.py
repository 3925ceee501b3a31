"""The command line: every command documented, exact exit codes, ``python -m musforms``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from musforms.cli import cli

COMMANDS = sorted(cli.commands)


def test_the_foundation_commands_exist() -> None:
    assert {"check", "sets", "init", "roster"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    """Each command's --help explains it and shows how to run it."""
    command = cli.commands[name]
    assert command.help and len(command.help.strip()) > 40, f"{name} has no help text"
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="musforms")
    assert result.exit_code == 0
    assert f"Usage: musforms {name}" in result.stdout
    assert f"musforms {name}" in command.help.split("Example", 1)[-1], f"{name}: no example"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"{name} {param.opts[0]} has no help"


def test_group_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"], prog_name="musforms")
    assert result.exit_code == 0
    for name in ("check", "sets", "init", "roster"):
        assert f"\n  {name} " in result.stdout


def test_python_dash_m_works() -> None:
    """``python -m musforms --help`` runs the same command line."""
    result = subprocess.run(
        [sys.executable, "-m", "musforms", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: musforms [OPTIONS] COMMAND [ARGS]...")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["sets"], 0),
        (["check", "standard"], 0),
        (["check", "no-such-set"], 1),
        (["check"], 2),
        (["roster", "no-such-file.csv"], 2),
        (["init"], 2),
        (["no-such-command"], 2),
    ],
)
def test_exit_codes(args: list[str], code: int, tmp_path: Path) -> None:
    """0 done, 1 a problem in the user's files, 2 a mistake in the command itself."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_check_unknown_name_says_what_exists() -> None:
    result = CliRunner().invoke(cli, ["check", "no-such-set"])
    assert result.stderr == (
        "Error: 'no-such-set' is neither a file nor a built-in question set "
        "(standard, kort, leder, konklusion, opfoelgning)\n"
    )


def test_check_reports_settings_errors(tmp_path: Path) -> None:
    """check also reads the musforms.toml beside the question set."""
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    toml = tmp_path / "config" / "musforms.toml"
    toml.write_text('organisation = "X"\nfolowup_months = 2\n', encoding="utf-8")
    result = runner.invoke(cli, ["check", str(tmp_path / "config" / "questions.yaml")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {toml}, line 2: unknown key 'folowup_months'; did you mean 'followup_months'?\n"
    )


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (
            PermissionError(13, "Permission denied", "/srv/hr/results/report.json"),
            "cannot read or write /srv/hr/results/report.json: Permission denied",
        ),
        (OSError(28, "No space left on device"), "no space left on the disk. Free space on"),
        (RuntimeError("intern fejl"), "stopped on an unexpected problem (RuntimeError)"),
    ],
)
def test_failures_are_told_without_a_traceback(
    raised: Exception, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import musforms.collect

    def fail(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(musforms.collect, "collect", fail)
    args = ["collect", str(tmp_path), "--forms", str(tmp_path), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert said in result.output and "Traceback" not in result.output
    assert "intern fejl" not in result.output  # an exception's text can quote a file

    debug = CliRunner().invoke(cli, ["--debug", *args])
    if isinstance(raised, OSError):
        assert said in debug.output
    else:
        assert debug.exception is raised  # --debug shows where it happened
