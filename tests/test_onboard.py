"""`recon init`: the [ledger] section read off one export proposes what the partner's books are,
so that the night it configures finds what the hand-written configuration finds.

Every shape is a partner of tests/books.py (format, units, sign, zone, regional shape,
debit/credit), with plants and tricky rows, run through the CLI with `--write` into a
recon.toml holding only [starship], [storage] and [checks]; the written file is then loaded
and D's night diffed with it and with the books' own configuration. The committed fixture runs
against the real sandbox with an empty lake, so init extracts first.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from recon import config, onboard, pipeline
from recon.cli import cli
from recon.config import Config
from recon.demo import DEMO_TOML
from recon.sandbox.scenario import generate
from recon.sandbox.server import Sandbox, SandboxOptions
from tests.books import Books, Profile
from tests.helpers import FIXTURES

D = date(2026, 4, 14)
PLANTED = ("amount_mismatch", "missing_in_ledger", "duplicate_ledger_entry", "status_mismatch")
# A partner that names its columns in its own language.
FOREIGN = {
    "entry_id": "Buchungsnr",
    "order_id": "Auftrag",
    "reference": "Zeichen",
    "amount": "Betrag",
    "debit": "Soll",
    "credit": "Haben",
    "currency": "Währung",
    "status": "Stand",
    "booked_at": "Gebucht",
}


def books_of(tmp_path: Path, profile: Profile, seed: int = 7) -> tuple[Books, Config]:
    books = Books.clean(seed, D, 30, profile=profile)
    books.tricky()
    for kind in PLANTED:
        books.plant(kind)
    return books, books.write(tmp_path)


def starting_toml(settings: Config) -> str:
    """What a partner writes before `recon init`: [starship], [storage] and [checks]."""
    checks = settings.checks
    floors = "".join(f'{c} = "{v}"\n' for c, v in checks.low_wallet_balance.items())
    return (
        f"[starship]\nlookback_days = {settings.starship.lookback_days}\n\n"
        f'[storage]\ndata_dir = "{settings.storage.data_dir}"\n\n'
        f"[checks]\ngrace_minutes = {checks.grace_minutes}\n"
        f"stuck_pending_hours = {checks.stuck_pending_hours}\n"
        f'discount_sheet = "{checks.discount_sheet}"\n'
        f"[checks.low_wallet_balance]\n{floors}"
    )


def init(*args: str) -> Result:
    return CliRunner().invoke(cli, ["init", *args], catch_exceptions=False)


def findings(settings: Config) -> tuple[set[tuple[str, str]], int]:
    night = pipeline.diff(settings, D)
    return {(f["check"], f["key"]) for f in night.findings.to_pylist()}, night.diff.counts[
        "quarantined"
    ]


def rename_columns(root: Path, names: dict[str, str]) -> None:
    """Every export of the folder with its header in the partner's own names."""
    for path in root.glob("ledger-*"):
        if path.suffix == ".csv":
            head, _, rest = path.read_text(encoding="utf-8").partition("\n")
            delimiter = next(d for d in ",;\t|" if d in head)
            renamed = delimiter.join(names.get(n, n) for n in head.split(delimiter))
            path.write_text(f"{renamed}\n{rest}", encoding="utf-8")
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
            pq.write_table(
                table.rename_columns([names.get(n, n) for n in table.column_names]), path
            )
        elif path.suffix == ".jsonl":
            rows = [json.loads(line) for line in path.read_text().splitlines() if line]
            path.write_text(
                "".join(json.dumps({names.get(k, k): v for k, v in r.items()}) + "\n" for r in rows)
            )


SHAPES = {
    "csv-major-utc": Profile(),
    "parquet-minor": Profile(format="parquet", amount_unit="minor"),
    "jsonl-negative-behind-utc": Profile(
        format="jsonl", purchase_sign="negative", zone="America/Los_Angeles"
    ),
    "xlsx-ahead-of-utc": Profile(format="xlsx", zone="Asia/Tokyo"),
    "csv-minor-negative-berlin": Profile(
        amount_unit="minor", purchase_sign="negative", zone="Europe/Berlin"
    ),
    "german-debit-credit": Profile(
        delimiter=";", decimal_separator=",", date_format="day-first", sides=True
    ),
    "us-credit-purchases": Profile(date_format="month-first", purchase_sign="negative", sides=True),
    "parquet-minor-comma-sides": Profile(
        format="parquet", decimal_separator=",", amount_unit="minor", sides=True
    ),
    "xlsx-pattern-berlin": Profile(
        format="xlsx", zone="Europe/Berlin", date_format="%d.%m.%Y %H:%M:%S"
    ),
    "tab-delimited-pacific-weekdays": Profile(
        delimiter="\t", zone="America/Los_Angeles", weekends=False
    ),
    "pipe-comma-kolkata": Profile(delimiter="|", decimal_separator=",", zone="Asia/Kolkata"),
}


@pytest.mark.parametrize("profile", SHAPES.values(), ids=SHAPES.keys())
def test_init_proposes_what_the_hand_written_configuration_finds(
    tmp_path: Path, profile: Profile
) -> None:
    _, hand = books_of(tmp_path, profile)
    config_file = tmp_path / "recon.toml"
    config_file.write_text(starting_toml(hand), encoding="utf-8")
    export = tmp_path / f"ledger-{D}.{profile.suffix}"
    result = init("--ledger", str(export), "--config", str(config_file), "--write")
    assert result.exit_code == 0, result.output
    proposed = config.load(config_file)
    assert proposed.ledger.amount_unit == profile.amount_unit
    assert proposed.ledger.timezone == profile.timezone
    assert proposed.ledger.business_zone == profile.zone
    assert proposed.ledger.delimiter == (profile.delimiter if profile.format == "csv" else ",")
    assert ("debit" in proposed.ledger.columns) == profile.sides
    if not profile.sides:  # a pair's sign depends on which side is called the debit
        assert proposed.ledger.purchase_sign == profile.purchase_sign
    assert findings(proposed) == findings(hand)
    # the evidence is printed with each choice, and the backup is the file before
    assert "matched rows equal" in result.output
    assert (tmp_path / "recon.toml.bak").read_text() == starting_toml(hand)


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_foreign_column_names_are_found_by_their_values(tmp_path: Path, suffix: str) -> None:
    profile = Profile(format=suffix, sides=suffix == "csv", purchase_sign="negative")
    _, hand = books_of(tmp_path, profile)
    rename_columns(tmp_path, FOREIGN)
    hand = dataclasses.replace(
        hand,
        ledger=dataclasses.replace(
            hand.ledger, columns={k: FOREIGN[k] for k in hand.ledger.columns}
        ),
    )
    proposal = onboard.propose(hand, tmp_path / f"ledger-{D}.{suffix}")
    section = proposal.section()
    assert section["columns"] == {k: FOREIGN[k] for k in hand.ledger.columns}
    if suffix == "csv":  # "Soll" is the debit by its name: purchases on "Haben", the credit
        assert section["purchase_sign"] == "negative"
    proposed = dataclasses.replace(hand, ledger=onboard.with_section(hand, section).ledger)
    assert findings(proposed) == findings(hand)


def test_evidence_says_which_dst_rule_it_assumed(tmp_path: Path) -> None:
    _, hand = books_of(tmp_path, Profile(zone="America/Los_Angeles"))
    proposal = onboard.propose(hand, tmp_path / f"ledger-{D}.csv")
    zone = proposal.ledger["timezone"]
    assert zone.value == "America/Los_Angeles"
    assert "-07:00" in zone.evidence and "assumed DST rule" in zone.evidence
    assert "UTC-08:00 in January, UTC-07:00 from 2026-03-08" in zone.evidence
    text = proposal.toml()
    assert tomllib.loads(text)["ledger"]["timezone"] == "America/Los_Angeles"


def test_two_columns_of_order_ids_are_ambiguous(tmp_path: Path) -> None:
    """A column copied beside the order id: init cannot tell which is meant and says so."""
    _, hand = books_of(tmp_path, Profile())
    export = tmp_path / f"ledger-{D}.csv"
    with export.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("order_id")
    rows = [[*rows[0], "Order (copy)"]] + [[*row, row[column]] for row in rows[1:]]
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    config_file = tmp_path / "recon.toml"
    config_file.write_text(starting_toml(hand), encoding="utf-8")
    result = init("--ledger", str(export), "--config", str(config_file), "--write")
    assert result.exit_code == 2
    assert "cannot tell which column holds Starship's order ids" in result.output
    assert "'order_id'" in result.output and "'Order (copy)'" in result.output
    assert "Traceback" not in result.output
    assert config_file.read_text() == starting_toml(hand)  # nothing written
    assert not (tmp_path / "recon.toml.bak").exists()


def test_an_export_of_other_orders_has_too_few_matches(tmp_path: Path) -> None:
    _, hand = books_of(tmp_path / "ours", Profile())
    books_of(tmp_path / "theirs", Profile(), seed=8)
    other = tmp_path / "theirs" / f"ledger-{D}.csv"
    # another partner's ids and references: none is among our lake's orders
    other.write_text(other.read_text().replace("ord_", "theirs_").replace("po_", "their-po_"))
    config_file = tmp_path / "ours" / "recon.toml"
    config_file.write_text(starting_toml(hand), encoding="utf-8")
    result = init("--ledger", str(other), "--config", str(config_file))
    assert result.exit_code == 2
    assert "too few matches" in result.output


def test_write_keeps_the_other_sections_and_ledger_keys(tmp_path: Path) -> None:
    _, hand = books_of(tmp_path, Profile(format="parquet"))
    config_file = tmp_path / "recon.toml"
    before = (
        "# our partner's night\n"
        + starting_toml(hand)
        + '\n# the old guess\n[ledger]\npath = "wrong-{date}.csv"\nmax_export_gap_days = 6\n'
        + '[ledger.columns]\nentry_id = "Entry"\n\n[report]\nout_dir = "out"  # for finance\n'
    )
    config_file.write_text(before, encoding="utf-8")
    result = init(
        "--ledger", str(tmp_path / f"ledger-{D}.parquet"), "--config", str(config_file), "--write"
    )
    assert result.exit_code == 0, result.output
    after = config_file.read_text()
    assert (tmp_path / "recon.toml.bak").read_text() == before
    assert after.startswith("# our partner's night\n" + starting_toml(hand))
    assert '[report]\nout_dir = "out"  # for finance' in after
    assert "the old guess" not in after and "wrong-" not in after
    written = config.load(config_file)
    assert written.ledger.max_export_gap_days == 6  # kept: init does not decide it
    assert written.ledger.columns["entry_id"] == "entry_id"
    assert findings(written) == findings(hand)


def test_the_committed_fixture_extracts_first_and_gives_the_demos_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's export (Berlin clocks, cut at midnight UTC, `refunded` among its words)
    against the sandbox, with an empty lake: init extracts D, then proposes."""
    for path in FIXTURES.glob("ledger-*.csv"):
        shutil.copy(path, tmp_path / path.name)
    shutil.copy(FIXTURES / "discounts.csv", tmp_path / "discounts.csv")
    with Sandbox(generate(), SandboxOptions()) as sandbox:
        monkeypatch.setenv("STARSHIP_API_KEY", sandbox.options.api_key)
        monkeypatch.setenv("STARSHIP_API_SECRET", sandbox.options.api_secret)
        demo = DEMO_TOML.format(base_url=sandbox.base_url)
        config_file = tmp_path / "recon.toml"
        config_file.write_text(onboard._without_ledger(demo), encoding="utf-8")
        result = init(
            "--ledger", str(tmp_path / f"ledger-{D}.csv"), "--config", str(config_file), "--write"
        )
        assert result.exit_code == 0, result.output
        assert f"extracted Starship's {D}" in result.output
    (tmp_path / "hand.toml").write_text(demo, encoding="utf-8")
    proposed, hand = config.load(config_file), config.load(tmp_path / "hand.toml")
    assert proposed.ledger.columns == hand.ledger.columns
    assert proposed.ledger.timezone == "Europe/Berlin"
    assert proposed.ledger.business_zone == "UTC"
    assert proposed.ledger.status_map == hand.ledger.status_map
    assert findings(proposed) == findings(hand)


def test_a_config_file_from_base_url(tmp_path: Path) -> None:
    settings, text = onboard.starting_config(
        tmp_path / "recon.toml", "http://127.0.0.1:9/api/v1", "MY_KEY", "MY_SECRET"
    )
    assert settings.starship.api_key_env == "MY_KEY"
    assert tomllib.loads(text)["starship"]["base_url"] == "http://127.0.0.1:9/api/v1"
    result = init(
        "--ledger", str(tmp_path / "ledger-2026-04-14.csv"), "--config", str(tmp_path / "none.toml")
    )
    assert result.exit_code == 2 and "--base-url" in result.output
