"""One recon at a time per data directory: an exclusive lock on `<data_dir>/recon.lock`.

The lake's partitions are replaced atomically and the history in one transaction, so two
runs could not tear a file; but two runs of one date would each extract and record, and the
later would win with a mix of both nights' requests. The lock makes the second one wait (up
to `wait` seconds) or stop with a message naming the holder.

The kernel releases an `flock` when its holder dies, so a killed run never leaves a stale
lock behind; the file's text (who holds it) is only for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon.errors import ReconError

POLL_SECONDS = 0.2


class Busy(ReconError):
    """Another recon holds the lock and did not let go in time."""


@contextlib.contextmanager
def exclusive(data_dir: Path, command: str, wait: float = 0.0) -> Iterator[Path]:
    """Hold `<data_dir>/recon.lock` for the block; Busy if it is held beyond `wait` seconds."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "recon.lock"
    with _open(path) as handle:
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(_busy_message(path, wait)) from None
                time.sleep(POLL_SECONDS)
        try:
            handle.seek(0)
            handle.truncate()
            holder = {
                "command": command,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            handle.write(json.dumps(holder) + "\n")
            handle.flush()
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _open(path: Path) -> Any:
    """The lock file, never through a link: the holder's line is written into it, and a
    symlink would have recon empty whatever file it points at."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError:
        if path.is_symlink():
            raise ReconError(
                f"{path} is a symbolic link; recon's lock must be a plain file (remove the link)"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ReconError(f"{path} is not a plain file; recon's lock must be one")
    return os.fdopen(fd, "r+", encoding="utf-8")


def _busy_message(path: Path, wait: float) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = (
        f"`recon {holder.get('command')}` (pid {holder.get('pid')} on {holder.get('host')}, "
        f"since {holder.get('since')})"
        if holder.get("command")
        else "another recon"
    )
    waited = f" after waiting {wait:g} s" if wait > 0 else ""
    return (
        f"{path}: {who} is running with this data directory; not starting{waited} "
        "(use --wait SECONDS to wait for it)"
    )
