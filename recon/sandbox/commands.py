"""`recon sandbox`: serve the bundled Starship sandbox, or write a scenario's books.

`serve` and `scenario` take the same scenario options, so the books a scenario writes are the
ones the sandbox serves with the same options. What `serve` is asked for is gathered into one
`ServeSettings` (the scenario, and the `SandboxOptions` with their `Faults`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recon.cli_options import iso_date

if TYPE_CHECKING:
    from recon.sandbox.scenario import Scenario
    from recon.sandbox.server import SandboxOptions

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
FAULT = "fault_"  # the prefix of the options that become `Faults`' fields


def _options(*options: Decorator) -> Decorator:
    """One decorator of several click options, listed as `--help` shows them."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# The defaults are recon.sandbox.scenario's (DEFAULT_SEED, DEFAULT_DATE,
# DEFAULT_ORDERS_PER_DAY), applied in `_scenario`: importing that module costs every command.
scenario_options = _options(
    click.option("--seed", type=int, help="Scenario seed.  [default: 20260414]"),
    click.option(
        "--date",
        "scenario_date",
        callback=iso_date,
        help="Scenario date (YYYY-MM-DD).  [default: 2026-04-14]",
    ),
    click.option(
        "--orders-per-day", type=click.IntRange(1), help="Background orders a day.  [default: 10]"
    ),
    click.option(
        "--business-day-zone",
        metavar="ZONE",
        help="Cut one export per business day of this IANA zone, booked on its clocks "
        "(a Pacific partner's export for a date holds orders of the next UTC day).  "
        "[default: cut at midnight UTC, clocks in Berlin, as the demo's partner]",
    ),
    click.option(
        "--weekdays-only",
        is_flag=True,
        help="No exports on Saturdays and Sundays: their bookings wait on Monday's.",
    ),
)
_SCENARIO_KEYS = ("seed", "scenario_date", "orders_per_day", "business_day_zone", "weekdays_only")

# How the server behaves (SandboxOptions' fields), then the faults it injects (`fault_` +
# Faults' fields).
served_options = _options(
    click.option(
        "--api-key",
        envvar="STARSHIP_SANDBOX_API_KEY",
        show_envvar=True,
        help="The key clients must send.  [default: pk_test_sandbox]",
    ),
    click.option(
        "--api-secret",
        envvar="STARSHIP_SANDBOX_API_SECRET",
        show_envvar=True,
        help="The secret clients must send and sign with.  [default: sk_test_sandbox]",
    ),
    click.option(
        "--page-cap",
        type=click.IntRange(1),
        default=100,
        show_default=True,
        help="Largest page the server returns, whatever `limit` asks.",
    ),
    click.option(
        "--meta-style",
        type=click.Choice(["snake", "camel"]),
        default="snake",
        show_default=True,
        help="Paging meta keys: per_page or perPage.",
    ),
    click.option(
        "--paging",
        type=click.Choice(["page", "cursor"]),
        default="page",
        show_default=True,
        help="Page numbers, or keyset cursors (meta.next_cursor).",
    ),
    click.option(
        "--next-links/--no-next-links",
        default=True,
        show_default=True,
        help="Include meta.next_page_url.",
    ),
    click.option(
        "--rate-limit",
        type=click.FloatRange(0),
        default=25.0,
        show_default=True,
        help="Requests a second per key (token bucket); 0 turns it off.",
    ),
    click.option("--burst", type=click.IntRange(1), default=50, show_default=True),
    click.option(
        "--retry-after-format",
        type=click.Choice(["seconds", "http-date"]),
        default="seconds",
        show_default=True,
    ),
    click.option(
        "--reconciliation",
        type=click.Choice(["off", "planned", "changed", "malformed", "not-implemented"]),
        is_flag=False,
        flag_value="planned",
        default="off",
        show_default=True,
        help="Serve the planned GET /reconciliation/{date}: the documented shape (planned, the "
        "default of a bare --reconciliation), a later shape, a broken body or 501. Off: 404.",
    ),
    click.option(
        "--latency-ms",
        "fault_latency_ms",
        type=click.IntRange(0),
        default=0,
        help="Fault: added latency.",
    ),
    click.option(
        "--error-rate",
        "fault_error_rate",
        type=click.FloatRange(0, 1),
        default=0.0,
        help="Fault: probability of a 5xx (gateway ones in HTML).",
    ),
    click.option(
        "--slow-rate",
        "fault_slow_rate",
        type=click.FloatRange(0, 1),
        default=0.0,
        help="Fault: probability of a response stalled --slow-seconds.",
    ),
    click.option(
        "--slow-seconds",
        "fault_slow_seconds",
        type=click.FloatRange(0),
        default=5.0,
        show_default=True,
    ),
    click.option(
        "--throttle-rate",
        "fault_throttle_rate",
        type=click.FloatRange(0, 1),
        default=0.0,
        help="Fault: probability of a 429 (a storm).",
    ),
    click.option(
        "--page-drift",
        "fault_page_drift",
        type=click.IntRange(0),
        default=0,
        help="Fault: orders inserted into /orders while a client pages it.",
    ),
    click.option(
        "--numeric-amounts",
        "fault_numeric_amounts",
        is_flag=True,
        help="Fault: amounts as JSON numbers.",
    ),
    click.option(
        "--extra-fields", "fault_extra_fields", is_flag=True, help="Fault: unknown keys everywhere."
    ),
    click.option(
        "--new-enum-values",
        "fault_new_enum_values",
        is_flag=True,
        help="Fault: undocumented enum values.",
    ),
    click.option(
        "--field-aliases",
        "fault_field_aliases",
        is_flag=True,
        help="Fault: id / amount / subStatus names.",
    ),
    click.option("--fault-seed", "fault_seed", type=int, default=0, show_default=True),
)


@dataclass(frozen=True)
class ServeSettings:
    """What `recon sandbox serve` was asked for."""

    scenario: Scenario
    options: SandboxOptions

    @classmethod
    def of(cls, chosen: dict[str, Any]) -> ServeSettings:
        """From the options click parsed (scenario_options and served_options)."""
        from recon.sandbox.faults import Faults
        from recon.sandbox.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, SandboxOptions

        rest = dict(chosen)
        scenario = _scenario({key: rest.pop(key) for key in _SCENARIO_KEYS})
        faults = Faults(
            **{
                key.removeprefix(FAULT): rest.pop(key)
                for key in list(rest)
                if key.startswith(FAULT)
            }
        )
        rest["api_key"] = rest["api_key"] or DEFAULT_API_KEY
        rest["api_secret"] = rest["api_secret"] or DEFAULT_API_SECRET
        try:
            options = SandboxOptions(**rest, faults=faults)  # click.Choice checked the Literals
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--api-key / --api-secret") from None
        return cls(scenario, options)


@click.group()
def sandbox() -> None:
    """The bundled Starship sandbox: a local API that behaves like the documented one."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8642, show_default=True, type=int)
@scenario_options
@served_options
def serve(host: str, port: int, **chosen: Any) -> None:
    """Serve the Starship sandbox until interrupted."""
    from recon.sandbox.server import Sandbox
    from recon.starship.client import is_sandbox_host

    settings = ServeSettings.of(chosen)
    logging.getLogger("recon.sandbox").setLevel(logging.INFO)
    server = Sandbox(settings.scenario, settings.options, host=host, port=port)
    if not is_sandbox_host(host):
        click.echo(
            f"warning: listening on {host}: anyone who can reach it can use the "
            "sandbox's public test credentials",
            err=True,
        )
    click.echo(
        f"Starship sandbox on {server.base_url} (scenario {settings.scenario.date}, seed "
        f"{settings.scenario.seed}, key {settings.options.api_key}); Ctrl-C stops it.",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@sandbox.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the ledger export and answer key into.",
)
@scenario_options
def scenario(out_dir: Path, **chosen: Any) -> None:
    """Write a scenario's partner ledger exports and answer key (same seed, same bytes).

    Serve the same scenario with `recon sandbox serve` and the same options."""
    for path in _scenario(chosen).write_fixture(out_dir):
        click.echo(str(path))


def _scenario(chosen: dict[str, Any]) -> Scenario:
    """The scenario scenario_options name, each unset one at the scenario module's default."""
    from recon.sandbox import scenario as scenarios

    try:
        cut = scenarios.Cut(chosen["business_day_zone"], weekends=not chosen["weekdays_only"])
        return scenarios.generate(
            scenarios.DEFAULT_SEED if chosen["seed"] is None else chosen["seed"],
            chosen["scenario_date"] or scenarios.DEFAULT_DATE,
            chosen["orders_per_day"] or scenarios.DEFAULT_ORDERS_PER_DAY,
            cut,
        )
    except (ValueError, KeyError) as exc:  # an unknown zone is a KeyError (ZoneInfoNotFound)
        raise click.BadParameter(
            str(exc).strip("'\""), param_hint="--business-day-zone / --weekdays-only / --date"
        ) from None
