"""What the command modules share: `recon/cli.py` (the nightly job's commands),
`recon/sandbox/commands.py` and `recon/bench/commands.py`."""

from __future__ import annotations

from datetime import date

import click


def iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """A click callback: `value` as a date, or a usage error (exit 2) that says why."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
