"""Starting a `recon sandbox serve` process and waiting until it answers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(command: Sequence[str], port: int, cwd: Path | None = None) -> Iterator[str]:
    """Run `command` (a sandbox server on `port`) until the block ends; yield its API root."""
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    root = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{root}/categories", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    _, err = process.communicate()
                    raise AssertionError(f"sandbox did not start: {err.decode()}") from None
                time.sleep(0.1)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=10)
