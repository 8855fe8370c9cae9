"""recon: prove every night that a partner's books and Starship's agree.

From a notebook, `recon.open("recon.toml")` gives the CLI's data as pandas DataFrames
(`recon.workbench`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recon.workbench import Workbench

__version__ = "0.1.0"


def open(config_path: Path | str = "recon.toml") -> Workbench:
    """The configuration's data, for a notebook: findings, breaks, trend, orders, explain."""
    # imported here, not above: the CLI imports this package and must not pay for pandas
    from recon import workbench

    return workbench.open(config_path)
