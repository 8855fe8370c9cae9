"""Shared fixtures: a Starship sandbox on a free loopback port, and plain HTTP to it; a DuckDB
connection as recon opens one. Shared helpers that are not fixtures are in tests/helpers.py
(and ledger_files.py, smtp.py, books.py, nights.py, hostile.py): no test module imports another.

The sandbox tests talk to the server with `requests` directly, not through recon's client, so
that what they check is the server's behaviour, not the client's reading of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import cache

import duckdb
import pytest
import requests

from recon.sandbox.scenario import Scenario, generate
from recon.sandbox.server import Sandbox, SandboxOptions

# The helper modules assert too: rewritten as the test modules are, a failing assert in them
# says what it compared. pytest loads this file before any test module imports them.
pytest.register_assert_rewrite("tests.helpers", "tests.ledger_files", "tests.smtp")


@cache
def default_scenario() -> Scenario:
    return generate()


MakeSandbox = Callable[..., Sandbox]


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """Start a sandbox with the given options (a fresh scenario each time); stop it after."""
    with ExitStack() as stack:

        def make(options: SandboxOptions | None = None, **kwargs: object) -> Sandbox:
            scenario = kwargs.pop("scenario", None) or generate()
            return stack.enter_context(Sandbox(scenario, options or SandboxOptions(**kwargs)))

        yield make


@pytest.fixture
def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    """A session that authenticates to `sandbox`."""
    with requests.Session() as session:
        session.headers.update(sandbox.auth_headers())
        yield session


def day_window(scenario: Scenario) -> dict[str, str]:
    start = scenario.date.isoformat()
    end = scenario.date.fromordinal(scenario.date.toordinal() + 1).isoformat()
    return {"from": f"{start}T00:00:00Z", "to": f"{end}T00:00:00Z"}


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh DuckDB connection set to UTC, as recon opens one (the ledger tests load into it)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()
