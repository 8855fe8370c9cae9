"""The `recon` command line, run as a user runs it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from recon.cli import cli
from recon.errors import InputError
from tests.helpers import FIXTURES, free_port, serving


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(cli))
def test_every_command_has_help(name: str, command: click.Command) -> None:
    assert command.help, f"`recon {name}` has no help text"
    result = CliRunner().invoke(cli, [*name.split(), "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "Usage: " in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "recon, version" in result.output


def test_demo_extracts_the_sandbox_and_lays_out_the_fixture(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--out", str(tmp_path / "demo")], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "Starship sandbox on http://127.0.0.1:" in result.output
    assert "23 orders and 29 transactions on 2026-04-14" in result.output
    assert "KWD 528.934" in result.output and "JPY 1386900" in result.output
    lake = tmp_path / "demo" / "var" / "lake"
    assert len(list(lake.glob("orders/date=*/part.parquet"))) == 8  # D and 7 days back
    # the ledger's memory: D's export and the six before it, each kept with its manifest
    assert len(list(lake.glob("ledger/date=*/part.parquet"))) == 7
    fixtures = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".csv", ".json"))
    assert len(fixtures) == 9  # a week of exports, the discount sheet, the answer key
    for name in fixtures:
        assert (tmp_path / "demo" / name).read_bytes() == (FIXTURES / name).read_bytes()


def test_sandbox_scenario_writes_the_fixture(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "scenario", "--out", str(tmp_path)])
    assert result.exit_code == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in FIXTURES.iterdir() if p.name != "README.md")
    for name in written:
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes()


def test_sandbox_serve_answers_with_the_documented_headers() -> None:
    port = free_port()
    command = [sys.executable, "-m", "recon", "sandbox", "serve", "--rate-limit", "0"]
    with serving(command, port) as root:
        auth = {"X-API-Key": "pk_test_sandbox", "X-API-Secret": "sk_test_sandbox"}
        answer = requests.get(f"{root}/orders", params={"limit": 2}, headers=auth)
        assert answer.status_code == 200
        assert answer.headers["X-Trace-ID"].startswith("trc_")
        assert answer.json()["meta"]["per_page"] == 2
        refused = requests.get(f"{root}/orders")
        assert refused.status_code == 401 and refused.headers["X-Trace-ID"]


def test_bad_option_values_are_usage_errors() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "scenario", "--out", "x", "--date", "14/04"])
    assert result.exit_code == 2
    assert "is not a date" in result.output


def test_a_recon_error_is_one_line_and_exit_2() -> None:
    @click.command("explode", help="Fails the way a bad ledger does.")
    def explode() -> None:
        raise InputError("exports/ledger.csv line 3: blank amount")

    cli.add_command(explode)
    try:
        result = CliRunner().invoke(cli, ["explode"])
    finally:
        cli.commands.pop("explode")
    assert result.exit_code == 2
    assert result.output == "recon: exports/ledger.csv line 3: blank amount\n"
    assert "Traceback" not in result.output


def test_the_scenario_options_say_the_scenario_modules_own_defaults() -> None:
    from recon.sandbox.scenario import DEFAULT_DATE, DEFAULT_ORDERS_PER_DAY, DEFAULT_SEED

    for command in ("serve", "scenario"):
        shown = " ".join(CliRunner().invoke(cli, ["sandbox", command, "--help"]).output.split())
        assert f"Scenario seed. [default: {DEFAULT_SEED}]" in shown
        assert f"Scenario date (YYYY-MM-DD). [default: {DEFAULT_DATE}]" in shown
        assert f"Background orders a day. [default: {DEFAULT_ORDERS_PER_DAY}]" in shown
