"""Process-wide secret masking: every secret flowvault resolves is registered here and replaced by `***` in
log lines, error messages and tracebacks."""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def register(value: str | None) -> None:
    """Remember a secret value so that mask() hides it from then on (values under 4 characters are too short
    to mask without mangling ordinary text, and are refused by config validation anyway)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def mask(text: str) -> str:
    """Return text with every registered secret replaced by MASK."""
    if not text or not _secrets:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class MaskingFilter(logging.Filter):
    """A logging filter that masks registered secrets in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# --- untrusted names on a screen or in a PR comment ----------------------------------------------------------
# Flow, node and variable names come from the service; a name holding a newline or a bidi override (U+202E) would
# forge an output line or reverse what a reviewer reads (issue 15). C0/C1 controls, bidi marks and embeddings,
# zero-width and line/paragraph separators are written as escapes instead.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Markdown punctuation that can start markup, a link, an image, HTML or a table cell; escaped with a backslash,
# so `[x](https://evil)` reads as its text and never links (CommonMark: any ASCII punctuation may be escaped).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()+!|~<>:])")
# GitHub turns `@user` into a mention (a notification) and `#123` into an issue link even after a backslash; as
# entities they read the same and do neither.
_GITHUB_REFERENCES = str.maketrans({"@": "&#64;", "#": "&#35;"})


def safe_text(text: object) -> str:
    """Return `text` as one line with every control character, bidi mark and invisible separator escaped
    (`\\n`, `\\u202e`), so a name from the service cannot forge or reorder output lines."""
    return _UNSAFE.sub(lambda m: _NAMED.get(m.group(0)) or f"\\u{ord(m.group(0)):04x}", str(text))


def safe_markdown(text: object) -> str:
    """Return `text` safe inside Markdown prose or a table cell: `safe_text`, then every Markdown metacharacter
    backslash-escaped, `&`, `@` and `#` entity-coded, so no link, image, HTML tag, emphasis, cell break, @mention or
    #123 issue reference comes out of it."""
    return _MARKDOWN.sub(r"\\\1", safe_text(text).replace("&", "&amp;")).translate(_GITHUB_REFERENCES)


def safe_json(text: str) -> str:
    """Return JSON text with every bidi mark, invisible separator and C1 control written as a `\\uXXXX` escape (JSON
    already escapes C0 controls inside strings): the same JSON value, and no terminal shows those characters raw.
    Only for JSON whose whitespace outside strings is spaces and newlines (json.dumps with indent)."""
    return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) == "\n" else f"\\u{ord(m.group(0)):04x}", text)
