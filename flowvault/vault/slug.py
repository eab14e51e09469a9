"""Safe, unique, stable folder and file names for untrusted flow names and process keys.

A flow's name comes from the remote service and may be anything: `../x`, `CON`, 300 characters, a NUL.
`slugify` turns it into a name that is safe on Linux, macOS and Windows; `SlugMap` makes it unique under
case-folding and Unicode normalisation and keeps it stable across runs (id -> slug is remembered in index.json,
so a renamed flow keeps its folder and history).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

MAX_CHARS = 80
MAX_BYTES = 200  # NAME_MAX is 255 bytes on most file systems; leave room for ".bpmn20.xml" and temp suffixes
FALLBACK = "flow"

# Windows reserves these device names with ANY extension ("aux.txt", "con.tar.gz"); also COM¹²³/LPT¹²³.
_RESERVED = {"con", "prn", "aux", "nul", "conin$", "conout$"}
_RESERVED |= {f"{dev}{n}" for dev in ("com", "lpt") for n in list("0123456789") + ["¹", "²", "³"]}
_UNSAFE = re.compile(r"[^\w.\-]+")  # \w is Unicode-aware: letters, digits, underscore
_DASHES = re.compile(r"-{2,}")


def _key(slug: str) -> str:
    """The comparison key: two slugs clash when they are equal after NFKC and case-folding."""
    return unicodedata.normalize("NFKC", slug).casefold()


def _truncate(text: str, max_chars: int) -> str:
    text = text[:max_chars]
    while len(text.encode("utf-8")) > MAX_BYTES:
        text = text[:-1]
    return text


def _tidy(text: str) -> str:
    text = _DASHES.sub("-", text)
    # No leading dot (hidden, ".", "..", ".git"), no trailing dot or space (Windows strips them), no edge dashes.
    return text.strip("-. _")


def slugify(name: object, *, max_chars: int = MAX_CHARS, lower: bool = True) -> str:
    """A non-empty name safe as a file or folder name on Linux, macOS and Windows (not unique on its own);
    lower=False keeps the case (IDM process keys: `osgiProcess.bpmn20.xml`)."""
    text = unicodedata.normalize("NFKC", str(name if name is not None else ""))  # fold look-alikes: "ＣＯＮ" is CON
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text)  # control, format, spaces
    text = _UNSAFE.sub("-", text.strip())
    if lower:
        text = text.lower()
    text = _tidy(text)
    if not text:
        text = FALLBACK
    stem = text.split(".", 1)[0]
    if stem.lower() in _RESERVED:
        text = f"{stem}-x{text[len(stem):]}"  # "aux.txt" -> "aux-x.txt": Windows reserves AUX with any extension
    text = _tidy(_truncate(text, max_chars))
    return text or FALLBACK


def is_safe(slug: object, *, lower: bool = True) -> bool:
    """True when `slug` is already what slugify would produce for it (used to distrust index.json)."""
    return isinstance(slug, str) and bool(slug) and slugify(slug, lower=lower) == slug


def _id_suffix(item_id: str, length: int) -> str:
    clean = re.sub(r"[^0-9a-z]", "", str(item_id).lower())
    if len(clean) >= length and clean == str(item_id).lower():
        return clean[:length]
    return hashlib.sha256(str(item_id).encode("utf-8")).hexdigest()[:length]


class SlugMap:
    """id -> slug assignments, unique under case-folding and Unicode normalisation, stable across runs."""

    def __init__(self, existing: Mapping[str, str] | None = None, *, max_chars: int = MAX_CHARS,
                 lower: bool = True) -> None:
        self.max_chars = max_chars
        self.lower = lower
        self._by_id: dict[str, str] = {}
        self._taken: dict[str, str] = {}  # comparison key -> id
        # Existing assignments are kept in id order so that a clash in a hand-edited index.json resolves the
        # same way every run; an unsafe or clashing one is dropped and reassigned.
        for item_id, slug in sorted((existing or {}).items()):
            if is_safe(slug, lower=lower) and len(slug) <= max_chars and _key(slug) not in self._taken:
                self._set(str(item_id), slug)

    def _set(self, item_id: str, slug: str) -> None:
        self._by_id[item_id] = slug
        self._taken[_key(slug)] = item_id

    def get(self, item_id: str) -> str | None:
        return self._by_id.get(str(item_id))

    def assign(self, item_id: str, name: object) -> str:
        """The slug of `item_id`: its remembered one, else slugify(name), else that plus a short id suffix."""
        item_id = str(item_id)
        if item_id in self._by_id:
            return self._by_id[item_id]
        base = slugify(name, max_chars=self.max_chars, lower=self.lower)
        candidate = base
        length = 8
        while _key(candidate) in self._taken:
            suffix = _id_suffix(item_id, length)
            candidate = f"{_tidy(_truncate(base, self.max_chars - len(suffix) - 1))}-{suffix}"
            candidate = slugify(candidate, max_chars=self.max_chars, lower=self.lower)
            length += 4
            if length > 64:  # ids that hash alike for 64 hex digits do not exist; guard the loop anyway
                raise RuntimeError(f"cannot find a unique name for {item_id!r}")
        self._set(item_id, candidate)
        return candidate

    def assign_all(self, items: Iterable[tuple[str, object]]) -> dict[str, str]:
        """Assign (id, name) pairs in id order (deterministic: the same clash resolves the same way everywhere)."""
        return {item_id: self.assign(item_id, name) for item_id, name in sorted(items, key=lambda p: str(p[0]))}

    def release(self, item_id: str) -> None:
        """Forget `item_id` (a flow the source no longer lists), freeing its slug."""
        slug = self._by_id.pop(str(item_id), None)
        if slug is not None:
            self._taken.pop(_key(slug), None)

    def as_dict(self) -> dict[str, str]:
        return dict(sorted(self._by_id.items()))
