"""Look words up in codespell's dictionary without loading all of it.

The dictionary (codespell_lib/data/dictionary.txt, the file checkpatch's
--codespell reads too) has some 65,000 'misspelling->fix' lines. Building a
dict of them costs more than the whole per-patch b4 check may take, so the
file is read as bytes once and each word is found in the block of lines
where it sorts: the lines are sorted by their lower-cased bytes
(tests/test_review_remarks.py checks that for the installed copy).
"""
from __future__ import annotations

from bisect import bisect_left
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


# The dictionary is cut into blocks of about this many bytes at line starts;
# a word is looked for in the one block (rarely two) where it sorts.
_BLOCK = 2048
_INDEX: tuple[bytes, list[int], list[bytes]] | None = None


def _index() -> tuple[list[int], list[bytes]]:
    """Where each block starts, and its first line lower-cased: some 500
    short searches backwards from every _BLOCK-th byte, done once for the
    dictionary read."""
    global _INDEX
    data = _data()
    if _INDEX is None or _INDEX[0] is not data:
        starts = [0]
        for at in range(_BLOCK, len(data), _BLOCK):
            line = data.rfind(b"\n", 0, at) + 1
            if line > starts[-1]:
                starts.append(line)
        keys = []
        for line in starts:
            end = data.find(b"\n", line)
            keys.append(data[line:len(data) if end < 0 else end].lower())
        _INDEX = data, starts, keys
    return _INDEX[1], _INDEX[2]


def entry(word: str) -> str | None:
    """The right-hand side of the dictionary line for word (lower case), or
    None when codespell does not list it."""
    data = _data()
    starts, keys = _index()
    target = word.encode("utf-8") + b"->"
    # The entry's line, lower-cased, starts with target: it sorts at or
    # after target and before target + 0xff. It lies after the start of the
    # last block whose first line sorts before target, and before the start
    # of the first block whose first line sorts after target + 0xff. Only
    # those bytes are lower-cased (the whole file would cost more than all
    # the lookups of a patch).
    first = max(bisect_left(keys, target) - 1, 0)
    last = bisect_left(keys, target + b"\xff")
    lo, hi = starts[first], (starts[last] if last < len(starts) else len(data))
    block = data[lo:hi].lower()
    if block.startswith(target):
        at = 0
    else:
        at = block.find(b"\n" + target) + 1
        if not at:
            return None
    at += lo + len(target)
    end = data.find(b"\n", at)
    return data[at:len(data) if end < 0 else end].decode("utf-8", "replace").strip()


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
