"""Logging for the ``atom`` and ``plugins`` loggers, with secrets scrubbed from every line.

Two mechanisms: patterns for anything that looks like a credential, and the values of the
secrets of every connection this process has built (:data:`atom.integrations.redaction.LIVE`),
in all their common encodings, whatever they look like.
"""
from __future__ import annotations

import logging
import re

from flask import Flask

from atom.integrations.redaction import LIVE

# Bearer tokens, Basic credentials, Slack tokens, ATOM keys, Fernet tokens, key=value secrets.
_SECRET_PATTERNS = [
    re.compile(r"(?i)((?:bearer|basic|bot)\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"xox[abprs]-[A-Za-z0-9-]{8,}"),
    re.compile(r"atom_[A-Za-z0-9_-]{20,}"),
    re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}"),
    re.compile(r"(?i)((?:token|secret|password|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]{4,}"),
]


def scrub(text: str) -> str:
    """Replace any live connection secret, and anything that looks like a credential, with
    ``[REDACTED]``."""
    text = LIVE.text(text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) + "[REDACTED]") if m.lastindex else "[REDACTED]", text)
    return text


class ScrubFilter(logging.Filter):
    """Scrubs the message of each record, and its traceback (an exception's text may quote a
    service's answer)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse ``exc_text`` once it is set: the traceback is written scrubbed.
            record.exc_text = scrub(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()


_FILTER = ScrubFilter()


def configure_logging(app: Flask) -> None:
    """Attach a scrubbing filter to every handler of the root logger and set ATOM's level."""
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    for name in ("atom", "plugins"):
        logging.getLogger(name).setLevel(level)
