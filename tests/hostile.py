"""A hostile Starship: a real loopback server in front of the sandbox that breaks one endpoint.

Every request but those to the broken path is passed through to the sandbox as it came, so a
whole `recon run` goes on around the one answer under test. The broken answer is written by a
`Breakage`: a status and a body, or a body that trickles a byte at a time and never ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

TRACE_ID = "trc_hostile_0001"
Breakage = Callable[[BaseHTTPRequestHandler], None]


def answer(body: bytes, status: int = 200) -> Breakage:
    """A whole answer: `status`, a JSON content type, the hostile trace id and `body`."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("X-Trace-ID", TRACE_ID)
        handler.end_headers()
        handler.wfile.write(body)

    return write


def trickle(prefix: bytes, every_seconds: float = 0.5) -> Breakage:
    """`prefix` at once, then a space every `every_seconds`, until the client hangs up."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("X-Trace-ID", TRACE_ID)
        handler.end_headers()
        try:
            handler.wfile.write(prefix)
            handler.wfile.flush()
            for _ in range(int(600 / every_seconds)):  # ten minutes at most, then stop
                time.sleep(every_seconds)
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:  # the client gave up: what it should do
            pass

    return write


def nested(depth: int = 200_000, inside: str = "{}") -> bytes:
    """JSON brackets `depth` deep, inside `inside` at the `{}` (`{"data": {}}` nests in data)."""
    return inside.replace("{}", "[" * depth + "]" * depth).encode()


@contextmanager
def breaking(upstream: str, path: str, breakage: Breakage) -> Iterator[str]:
    """Serve in front of `upstream` (an API root, `.../api/v1`), breaking every GET whose path
    ends with `path`; yield the API root to give recon."""
    prefix = urlsplit(upstream).path

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path.rstrip("/").endswith(path):
                breakage(self)
                return
            passed = requests.get(
                upstream.removesuffix(prefix) + self.path,
                headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                timeout=30,
                allow_redirects=False,
            )
            self.send_response(passed.status_code)
            for name in ("Content-Type", "X-Trace-ID", "Retry-After"):
                if name in passed.headers:
                    self.send_header(name, passed.headers[name])
            self.send_header("Content-Length", str(len(passed.content)))
            self.end_headers()
            self.wfile.write(passed.content)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
