"""Hostile text made harmless to show: references, notes and API strings are the partner's or
the server's, and reach a terminal, an e-mail and a spreadsheet.

Bidirectional controls (U+202E and friends) would make `po-123<U+202E>txt.exe` read as
something else, so they are shown as their code point; a long value is clipped in the
terminal and the plain-text e-mail (the CSV keeps it whole).
"""

from __future__ import annotations

import re

# The embedding, override and isolate controls, and the marks that steer them.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
CLIP_CHARACTERS = 200


def neutral(text: str) -> str:
    """`text` with every bidirectional control shown as `<U+XXXX>`."""
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def clip(text: str, limit: int = CLIP_CHARACTERS) -> str:
    """At most `limit` characters of `text`, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
