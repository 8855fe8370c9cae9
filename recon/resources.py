"""Where the SQL rules, report templates and fixtures are, installed or in a checkout.

The wheel carries them under `recon/_bundled/`; in a source checkout (an editable install)
they are at the top of the repository, where a reader expects them.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT_PLACES = {"sql": "sql", "templates": "reports/templates", "fixtures": "data/fixtures"}


def resource_dir(name: str) -> Path:
    """The folder of bundled resource `name`: 'sql', 'templates' or 'fixtures'."""
    if name not in _CHECKOUT_PLACES:
        raise KeyError(f"unknown resource {name!r}; one of {sorted(_CHECKOUT_PLACES)}")
    bundled = _PACKAGE / "_bundled" / name
    if bundled.is_dir():
        return bundled
    checkout = _PACKAGE.parent / _CHECKOUT_PLACES[name]
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"recon's {name} folder is missing from this installation")


def sql_text(name: str) -> str:
    """The text of `sql/<name>`, without the trailing `;`, ready to embed or execute."""
    return (resource_dir("sql") / name).read_text(encoding="utf-8").strip().rstrip(";")


def sql_literal(value: str) -> str:
    """`value` as a SQL string literal. Only for what cannot be bound: a view's table-function
    arguments (the lake's own paths, the ledger export's path)."""
    return "'" + value.replace("'", "''") + "'"
