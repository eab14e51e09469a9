"""Slugs: hostile flow names become distinct, safe, stable folder names."""

import unicodedata
from pathlib import PurePosixPath

import pytest

from flowvault.vault.slug import MAX_CHARS, SlugMap, is_safe, slugify

HOSTILE = [
    "../x", "/abs", "CON", "con", "aux.txt", "AUX", "com1", "LPT9.log", "nul", ".git", "..", ".", "a\x00b",
    "x" * 300, "é" * 300, "same", "SAME", "Same", "a/b", "a\\b", "a:b", 'a*?"<>|b', "trailing. ", "trailing...",
    unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café"), "ＣＯＮ", "", "   ", "\t\n",
    "日本語フロー", "PingOne Sign On", "PingOne  Sign  On", "-leading-dash", "ß", "SS",
]
WINDOWS_BAD = set('/\\:*?"<>|')
RESERVED = {"con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(10)}


def _assert_safe(slug: str) -> None:
    assert slug and len(slug) <= MAX_CHARS
    assert not (set(slug) & WINDOWS_BAD)
    assert all(ord(c) >= 32 and unicodedata.category(c)[0] != "C" for c in slug)
    assert slug not in (".", "..", ".git") and not slug.startswith(".")
    assert not slug.endswith((".", " "))
    assert slug.split(".")[0].lower() not in RESERVED
    assert len(slug.encode("utf-8")) <= 200
    # A slug used as a folder stays a single path component inside its parent.
    assert PurePosixPath("snapshots", slug).parent == PurePosixPath("snapshots")


@pytest.mark.parametrize("name", HOSTILE)
def test_slugify_is_safe_and_idempotent(name):
    slug = slugify(name)
    _assert_safe(slug)
    assert is_safe(slug) and slugify(slug) == slug


def test_hostile_names_get_distinct_slugs_unique_under_casefold_and_normalisation():
    m = SlugMap()
    slugs = m.assign_all((f"id{i:03d}", name) for i, name in enumerate(HOSTILE))
    for slug in slugs.values():
        _assert_safe(slug)
    keys = [unicodedata.normalize("NFKC", s).casefold() for s in slugs.values()]
    assert len(set(keys)) == len(HOSTILE)


def test_case_and_unicode_twins_get_an_id_suffix_and_the_first_keeps_the_plain_name():
    m = SlugMap()
    got = m.assign_all([("aaaa1111bbbb", "same"), ("cccc2222dddd", "SAME"),
                        ("eeee3333", unicodedata.normalize("NFC", "café")),
                        ("ffff4444", unicodedata.normalize("NFD", "café"))])
    assert got["aaaa1111bbbb"] == "same"
    assert got["cccc2222dddd"] == "same-cccc2222"
    assert got["eeee3333"] == "café"
    assert got["ffff4444"] == "café-ffff4444"


def test_slugs_are_stable_across_runs_and_renames():
    first = SlugMap()
    first.assign_all([("id1", "Sign On"), ("id2", "sign on")])
    saved = first.as_dict()
    # Next run: id2 is seen first and id1 was renamed; both keep their folders.
    second = SlugMap(saved)
    assert second.assign("id2", "sign on") == saved["id2"]
    assert second.assign("id1", "Completely New Name") == saved["id1"]


def test_untrusted_index_entries_are_reassigned():
    m = SlugMap({"id1": "../escape", "id2": "CON", "id3": "ok"})
    assert m.get("id1") is None and m.get("id2") is None
    assert m.get("id3") == "ok"
    _assert_safe(m.assign("id1", "../escape"))


def test_release_frees_a_slug():
    m = SlugMap()
    m.assign("id1", "flow")
    m.release("id1")
    assert m.assign("id2", "flow") == "flow"


def test_long_names_with_suffix_stay_bounded():
    m = SlugMap()
    a = m.assign("id-a", "x" * 300)
    b = m.assign("id-b", "x" * 300)
    assert a != b and len(a) <= MAX_CHARS and len(b) <= MAX_CHARS


def test_process_keys_keep_their_case_and_stay_unique_under_casefold():
    m = SlugMap(lower=False)
    got = m.assign_all([("osgiProcess", "osgiProcess"), ("OSGIPROCESS", "OSGIPROCESS"), ("con", "con")])
    assert got["OSGIPROCESS"] == "OSGIPROCESS"  # assigned in id order: "O" < "o"
    assert got["osgiProcess"] == "osgiProcess-osgiproc"
    assert got["con"] == "con-x"
    assert SlugMap(got, lower=False).as_dict() == got
