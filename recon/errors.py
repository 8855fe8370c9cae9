"""One error root for everything recon knows can go wrong.

The CLI catches `ReconError` once and exits with its `exit_code`; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class ReconError(Exception):
    """A failure recon understands and can explain in one line."""

    exit_code = 2


class Interrupted(ReconError):
    """Ctrl-C (SIGINT): the shell's 130, never 1, which would say "discrepancies found"."""

    exit_code = 130


class ConfigError(ReconError):
    """The configuration file or an option is wrong."""


class InputError(ReconError):
    """An input file (ledger export, fixture) cannot be used."""


class ApiError(ReconError):
    """The Starship API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        trace_id: str | None = None,
        request: str | None = None,
    ) -> None:
        detail = message
        if request:
            detail = f"{request}: {detail}"
        if trace_id:
            detail = f"{detail} (X-Trace-ID {trace_id})"
        super().__init__(detail)
        self.status = status
        self.code = code
        self.trace_id = trace_id
        self.request = request


class MoneyError(InputError):
    """An amount or currency is not valid money."""


def from_os_error(error: OSError) -> ReconError:
    """A file system failure (a folder that is a file, no permission, a full disk) as one line
    naming the path: it is the machine's state, not a bug, and a traceback helps nobody."""
    path = error.filename if error.filename is not None else "a file"
    if isinstance(error, FileExistsError | NotADirectoryError):
        return ReconError(f"{path}: a file is where recon needs a folder (or the other way round)")
    if isinstance(error, PermissionError):
        return ReconError(f"{path}: permission denied; recon cannot write or read there")
    return ReconError(f"{path}: {error.strerror or type(error).__name__}")
