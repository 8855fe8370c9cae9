"""`recon demo`: the whole job on its embedded default, against the bundled Starship sandbox.

It starts the sandbox on a free loopback port (serving the planned `/reconciliation/{date}`,
so every check has something to find), extracts the scenario date (and its look-back
window) into a Parquet lake under the demo folder, lays the partner's ledger export and the
answer key beside it, and diffs the date into the break history. It also writes the
`recon.toml` it ran with, so `recon diff` and `recon breaks` can be tried on the result.
Then it writes the report (HTML, CSV, JSON) and prints where it is; nothing is e-mailed.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

from recon import config, pipeline
from recon.extract import Extractor, ExtractResult
from recon.lake import Lake
from recon.money import format_amount
from recon.resources import resource_dir
from recon.sandbox.scenario import DEFAULT_DATE, DISCOUNT_SHEET, Scenario
from recon.sandbox.scenario import generate as generate_scenario
from recon.sandbox.server import Sandbox, SandboxOptions
from recon.starship.client import StarshipClient


@dataclass
class DemoResult:
    base_url: str
    scenario: Scenario
    extraction: ExtractResult
    lake: Path
    ledger: Path
    answer_key: Path
    config_file: Path
    night: pipeline.Night
    report: Path

    def lines(self) -> list[str]:
        d = self.scenario.date.isoformat()
        findings = len(self.scenario.answer_key["findings"])
        wallets = Lake(self.lake).read("wallets", self.scenario.date).to_pylist()
        balances = ", ".join(
            f"{w['currency']} {format_amount(w['balance'], w['currency'])}" for w in wallets
        )
        return [
            f"Starship sandbox on {self.base_url} (scenario {d}, seed {self.scenario.seed})",
            *self.extraction.summary(),
            f"  wallets: {balances}",
            f"  Parquet lake: {self.lake}",
            f"  partner ledger export: {self.ledger}",
            f"  answer key ({findings} planted findings): {self.answer_key}",
            *self.night.summary(),
            f"  break history: {self.night_history}",
            f"report: {self.report}",
            "  and discrepancies.csv, discrepancies.xlsx, summary.json, quarantine.csv beside it",
            f"Try: recon breaks --config {self.config_file}",
        ]

    @property
    def night_history(self) -> Path:
        return self.lake.parent / "recon.duckdb"


def demo_config(out_dir: Path, base_url: str) -> config.Config:
    """The configuration the demo runs with: DEMO_TOML, as if read from `out_dir/recon.toml`."""
    text = DEMO_TOML.format(base_url=base_url)
    return config.from_dict(tomllib.loads(text), source=out_dir / "recon.toml")


def run_demo(out_dir: Path) -> DemoResult:
    out_dir = out_dir.resolve()
    scenario = generate_scenario()
    out_dir.mkdir(parents=True, exist_ok=True)
    fixtures = resource_dir("fixtures")
    # the week's exports (night D remembers the earlier ones), the discount sheet, the key
    names = [f"ledger-{day}.csv" for day in scenario.exports]
    copied = [
        Path(shutil.copyfile(fixtures / name, out_dir / name))
        for name in (*names, DISCOUNT_SHEET, f"answer-key-{DEFAULT_DATE}.json")
    ]
    with Sandbox(scenario, SandboxOptions(reconciliation="planned")) as sandbox:
        settings = demo_config(out_dir, sandbox.base_url)
        client = StarshipClient(
            sandbox.base_url, sandbox.options.api_key, sandbox.options.api_secret
        )
        extractor = Extractor(settings, client)
        extraction = extractor.run(scenario.date, open_orders=())  # a fresh history: none
    config_file = out_dir / "recon.toml"
    config_file.write_text(DEMO_TOML.format(base_url=sandbox.base_url), encoding="utf-8")
    night = pipeline.diff(settings, scenario.date)
    _, files = pipeline.report(settings, scenario.date)
    return DemoResult(
        sandbox.base_url,
        scenario,
        extraction,
        extractor.lake.root,
        copied[-3],
        copied[-1],
        config_file,
        night,
        files.html,
    )


# The sandbox scenario's ledger settings (recon.sandbox.scenario: LEDGER_COLUMNS,
# LEDGER_STATUS_MAP, LEDGER_TIMEZONE, LOW_WALLET_FLOORS); a test holds the two together.
DEMO_TOML = """\
# What `recon demo` ran with. The sandbox it extracted from is gone, so `recon extract` will
# not reach it; `recon diff --date 2026-04-14` and `recon breaks` work on what is here.
[starship]
base_url = "{base_url}"
page_size = 50

[storage]
data_dir = "var"

[ledger]
path = "ledger-{{date}}.csv"
timezone = "Europe/Berlin"
# its exports are cut at midnight UTC, though its clocks are in Berlin
business_day_timezone = "UTC"

[ledger.columns]
entry_id = "Entry ID"
order_id = "Starship Order"
reference = "Our Ref"
amount = "Amount"
currency = "Ccy"
status = "Status"
booked_at = "Booked At"

[ledger.status_map]
delivered = "DELIVERED"
refunded = "CANCELLED"
cancelled = "CANCELLED"
pending = "PENDING"

[checks]
discount_sheet = "discounts.csv"

[checks.low_wallet_balance]
USD = "1000.00"
KWD = "1000.000"

[report]
out_dir = "reports"
"""
