"""Look words up in codespell's dictionary without loading all of it.

The dictionary (codespell_lib/data/dictionary.txt, the file checkpatch's
--codespell reads too) has some 65,000 'misspelling->fix' lines. Building a
dict of them costs more than the whole per-patch b4 check may take, so the
file is read as bytes once and each word is found by binary search: the
lines are sorted by their lower-cased bytes (tests/test_review_remarks.py checks
that for the installed copy).
"""
from __future__ import annotations

from functools import lru_cache

_DATA: bytes | None = None


def _data() -> bytes:
    global _DATA
    if _DATA is None:
        # find_spec and open: importlib.resources would cost more to import
        # than the read itself.
        import importlib.util
        import os

        spec = importlib.util.find_spec("codespell_lib")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("codespell is not installed (pip install codespell)")
        path = os.path.join(spec.submodule_search_locations[0], "data", "dictionary.txt")
        with open(path, "rb") as fh:
            _DATA = fh.read()
    return _DATA


def entry(word: str) -> str | None:
    """The right-hand side of the dictionary line for word (lower case), or
    None when codespell does not list it."""
    data = _data()
    target = word.encode("utf-8") + b"->"
    size = len(target)
    lo, hi = 0, len(data)
    # lo and hi are line starts; find the first line not below target.
    # Comparing a line's first len(target) bytes decides it: target ends
    # in "->", so a line that starts with it is the entry itself. Only the
    # bytes compared are lower-cased (the whole file would cost more than
    # all the lookups of a patch).
    while lo < hi:
        mid = (lo + hi) // 2
        start = max(data.rfind(b"\n", lo, mid) + 1, lo)
        if data[start:start + size].lower() < target:
            end = data.find(b"\n", start)
            lo = len(data) if end < 0 else end + 1
        else:
            hi = start
    if data[lo:lo + size].lower() != target:
        return None
    end = data.find(b"\n", lo)
    return data[lo + size:len(data) if end < 0 else end].decode("utf-8", "replace").strip()


@lru_cache(maxsize=8192)
def correction(word: str) -> str | None:
    """The fix codespell gives for a misspelled word ("a" or "a or b"), or
    None: for correct words, and for entries codespell will not fix on its
    own because they carry a reason (often: the word is valid somewhere)."""
    data = entry(word)
    if data is None:
        return None
    if "," in data:
        data, reason = data.rsplit(",", 1)
        if reason.strip():
            return None
    fixes = [f.strip() for f in data.split(",") if f.strip()]
    if not fixes:
        return None
    return fixes[0] if len(fixes) == 1 else " or ".join(fixes)
