"""`recon demo`: the whole job on its embedded default, against the bundled Starship sandbox.

Today recon has its sandbox and its scenario; extraction, the diff and the report arrive with
their issues and join this run as they land. What the demo does now is honest about that: it
starts the sandbox on a free loopback port, reads the scenario date back over HTTP with the
client, and puts the partner's ledger export and the answer key beside each other.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from recon.money import format_amount
from recon.resources import resource_dir
from recon.sandbox.scenario import DEFAULT_DATE, Scenario, generate
from recon.sandbox.server import Sandbox
from recon.starship.client import StarshipClient


@dataclass
class DemoResult:
    base_url: str
    scenario: Scenario
    orders: int
    transactions: int
    pages: int
    wallets: dict[str, Decimal]
    ledger: Path
    answer_key: Path

    def lines(self) -> list[str]:
        d = self.scenario.date.isoformat()
        wallets = ", ".join(f"{c} {format_amount(b, c)}" for c, b in self.wallets.items())
        findings = len(self.scenario.answer_key["findings"])
        return [
            f"Starship sandbox answered on {self.base_url} (scenario {d}, seed "
            f"{self.scenario.seed})",
            f"  {self.orders} orders and {self.transactions} wallet transactions for {d}, "
            f"read over HTTP in {self.pages} pages",
            f"  wallets: {wallets}",
            f"  partner ledger export: {self.ledger}",
            f"  answer key ({findings} planted findings): {self.answer_key}",
            "Extraction, the diff and the report are not built yet; the answer key lists what "
            "they must find.",
        ]


def run_demo(out_dir: Path) -> DemoResult:
    scenario = generate()
    out_dir.mkdir(parents=True, exist_ok=True)
    fixtures = resource_dir("fixtures")
    copied = []
    for name in (f"ledger-{DEFAULT_DATE}.csv", f"answer-key-{DEFAULT_DATE}.json"):
        copied.append(Path(shutil.copyfile(fixtures / name, out_dir / name)))
    with Sandbox(scenario) as sandbox:
        options = sandbox.options
        client = StarshipClient(sandbox.base_url, options.api_key, options.api_secret)
        day = {
            "from": f"{scenario.date}T00:00:00Z",
            "to": f"{scenario.date.fromordinal(scenario.date.toordinal() + 1)}T00:00:00Z",
        }
        order_pages = list(client.pages("orders", day, limit=10))
        txn_pages = list(client.pages("transactions", day, limit=10))
        wallets = {w["currency"]: Decimal(w["balance"]) for w in client.get("wallets")["data"]}
        return DemoResult(
            sandbox.base_url,
            scenario,
            sum(map(len, order_pages)),
            sum(map(len, txn_pages)),
            len(order_pages) + len(txn_pages),
            wallets,
            copied[0],
            copied[1],
        )
