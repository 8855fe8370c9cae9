"""Log lines for people (`text`) or for log shippers (`json`, one object a line), redacted.

Every record passes `Redactor` before it is written, whatever the format: the values of the
secrets recon was given (`register_secret`, called where a credential is read from the
environment) and anything shaped like a Starship key or secret become `[REDACTED]`. Code
never logs a secret on purpose; this catches the accident (an exception text that quotes a
header, a URL with a token in it).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
REDACTED = "[REDACTED]"
_SHAPES = re.compile(r"\b(?:sk|pk)_(?:test|live)_[A-Za-z0-9_\-]+")
_MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words and digits
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """From now on, `value` is replaced wherever it would be logged."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):  # a secret inside another: longest
        text = text.replace(secret, REDACTED)
    return _SHAPES.sub(REDACTED, text)


class Redactor(logging.Filter):
    """Renders the record's message, redacts it, and drops the arguments it was made from."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # the formatter would render the unredacted traceback again
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and any `extra={...}` fields."""

    _STANDARD = frozenset(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in self._STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def setup(log_format: str = "text", verbose: int = 0, stream: TextIO | None = None) -> None:
    """Configure the root logger once per command: level by `-v`, format, redaction.

    JSON logs go to machines that filter for themselves, so they start at INFO; people get
    WARNING and above unless they ask for more.
    """
    quiet = logging.INFO if log_format == "json" else logging.WARNING
    level = {0: quiet, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(Redactor())
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
