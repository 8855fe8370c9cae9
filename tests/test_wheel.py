"""A user installs the wheel, not the checkout: build it, install it into a fresh virtual
environment outside the repository, and run recon from there."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import requests

from tests.helpers import free_port, serving

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh environment with the built wheel installed."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(work / "dist"),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = (work / "dist").glob("recon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for bundled in (
        "recon/_bundled/sql/README.md",
        "recon/_bundled/templates/README.md",
        "recon/_bundled/fixtures/ledger-2026-04-14.csv",
        "recon/_bundled/fixtures/ledger-2026-04-08.csv",
        "recon/_bundled/fixtures/discounts.csv",
        "recon/_bundled/fixtures/answer-key-2026-04-14.json",
    ):
        assert bundled in names, f"the wheel lacks {bundled}"
    assert not any(name.startswith("tests/") for name in names)
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True
    )
    return bin_dir


pytestmark = pytest.mark.slow


def run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "recon"), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_installed_recon_finds_its_bundled_files(installed: Path, tmp_path: Path) -> None:
    probe = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "from recon.resources import resource_dir as r; "
            "print(r('sql')); print(r('templates')); print(r('fixtures'))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in probe.stdout.splitlines():
        assert "site-packages/recon/_bundled/" in line
        assert not line.startswith(str(ROOT))


def test_installed_recon_help_and_demo_from_any_folder(installed: Path, tmp_path: Path) -> None:
    assert "sandbox" in run(installed, "--help", cwd=tmp_path).stdout
    demo = run(installed, "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "Starship sandbox on http://127.0.0.1:" in demo.stdout
    assert "23 orders and 29 transactions on 2026-04-14" in demo.stdout
    assert "ledger memory: 6 earlier export(s)" in demo.stdout  # the week and sheet are bundled
    assert "discount_drift                1" in demo.stdout
    assert (tmp_path / "recon-demo" / "ledger-2026-04-14.csv").exists()
    assert list((tmp_path / "recon-demo" / "var" / "lake").glob("orders/date=*/part.parquet"))
    # the notebook's entry point, installed: pandas comes with the wheel's dependencies
    notebook = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import recon; f = recon.open('recon-demo/recon.toml').findings('2026-04-14'); "
            "print(len(f), f['delta'].dtype)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert notebook.returncode == 0, notebook.stderr
    assert notebook.stdout.split() == ["23", "decimal128(18,", "4)[pyarrow]"]


def test_installed_sandbox_round_trip(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    with serving([str(installed / "recon"), "sandbox", "serve"], port, cwd=tmp_path) as root:
        auth = {"X-API-Key": "pk_test_sandbox", "X-API-Secret": "sk_test_sandbox"}
        wallets = requests.get(f"{root}/wallets", headers=auth)
        assert wallets.status_code == 200 and wallets.headers["X-Trace-ID"]
        assert {w["currency"] for w in wallets.json()["data"]} == {"EUR", "JPY", "KWD", "USD"}
