"""The C code of a patch as the changelog rules read it: the post-image
hunks parsed by tree-sitter, and the lines the patch removes (which have
no tree of their own)."""
from __future__ import annotations

from typing import Iterator

from ..lint.kit import C_SUFFIXES


def _c_files(patch):
    return [d for d in patch.files if d.path.endswith(C_SUFFIXES) and not d.is_binary]


def post_regions(patch) -> Iterator:
    """The parsed post-image regions of every C file the patch keeps."""
    for diff in _c_files(patch):
        if not diff.is_deleted:
            yield from source_file(diff).regions


def removed_c_lines(patch) -> Iterator[str]:
    """The text of every line the patch removes from a C file."""
    for diff in _c_files(patch):
        for hunk in diff.hunks:
            for ln in hunk.lines:
                if ln.kind == "-":
                    yield ln.text
