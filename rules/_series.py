"""What the series rules share: the definitions a patch adds, the names
its added lines use, and the "substantial" lines worth following across
patches. Everything here is one pass over each patch's lines."""
from __future__ import annotations

import re
from typing import NamedTuple

from ..lint.kit import lazy_re

C_FILES = (".c", ".h")

# A function's first line at column 0: its type words, its name, '('.
_FUNCTION = lazy_re(
    r"^(?!(?:return|if|else|do|while|for|switch|case|goto|typedef|sizeof)\b)"
    r"(?P<head>(?:[A-Za-z_]\w*+[ \t]++|\*[ \t]*+)*?(?:[A-Za-z_]\w*+[ \t]*+\**+[ \t]*+))"
    r"(?P<name>[A-Za-z_]\w*+)\s*+\(")
_BARE_NAME = lazy_re(r"^(?P<name>[A-Za-z_]\w*+)\s*+\(")
_TYPE_LINE = lazy_re(r"^(?:[A-Za-z_]\w*+[ \t]*+\**+[ \t]*+){1,6}$")
_MACRO = lazy_re(r"^#[ \t]*+define[ \t]++(?P<name>[A-Za-z_]\w*+)\(")
_EXPORT = lazy_re(r"^\s*+EXPORT_SYMBOL\w*+\s*+\(")
_NAME = lazy_re(r"[A-Za-z_]\w*+")
_TRIVIAL = lazy_re(r"^\s*+(?:[{}();,]*+|\*/|/\*+|\*|//.*+|#\s*+(?:endif|else)\b.*+|else|return\s*+\w*+;|"
                   r"break;|continue;|default:|\w++:)\s*+$")
# A local declaration with no initializer ("int ret, cpu;"): a later patch
# that adds a variable to it is no churn worth folding.
_BARE_DECLARATION = lazy_re(r"^(?!(?:return|goto|break|continue)\b)[A-Za-z_][\w \t,*\[\]]{0,200}+;$")
_KEYWORDS = frozenset("if for while switch return sizeof do else case goto typedef struct union enum "
                      "defined static inline extern const volatile unsigned signed".split())


class Definition(NamedTuple):
    name: str
    patch: int  # the index of the patch that adds it
    path: str
    line: int  # the post-image line of its first line
    column: int  # 1-based column of the name
    kind: str  # "function" or "macro"
    static: bool
    inline: bool
    maybe_unused: bool
    header: bool


def c_diffs(patch):
    return [d for d in patch.files if d.path.endswith(C_FILES) and not d.is_binary and not d.is_deleted]


def definitions(patch) -> list[Definition]:
    """The functions (with a body) and function-like macros a patch adds."""
    out = []
    for diff in c_diffs(patch):
        for hunk in diff.hunks:
            lines = hunk.lines
            for k, ln in enumerate(lines):
                if not ln.added or not ln.text[:1] or ln.text[:1] in " \t*/":
                    continue
                text = ln.text
                m = _MACRO.match(text)
                if m:
                    out.append(Definition(m.group("name"), patch.index, diff.path, ln.new_no, m.start("name") + 1,
                                          "macro", False, False, False, diff.path.endswith(".h")))
                    continue
                m = _FUNCTION.match(text)
                head = m.group("head") if m else ""
                if m is None and k and lines[k - 1].added and _TYPE_LINE.match(lines[k - 1].text):
                    m = _BARE_NAME.match(text)  # "static int\nfoo(void)"
                    head = lines[k - 1].text
                if m is None or m.group("name") in _KEYWORDS or text.startswith("#"):
                    continue
                if not _has_body(lines, k):
                    continue
                out.append(Definition(m.group("name"), patch.index, diff.path, ln.new_no, m.start("name") + 1,
                                      "function", "static" in head.split(), "inline" in head.split() or
                                      "__always_inline" in head, "__maybe_unused" in head,
                                      diff.path.endswith(".h")))
    return out


def _has_body(lines, k: int) -> bool:
    """Does the declaration starting at lines[k] open a body ('{' before
    any ';'), within a few added lines?"""
    for ln in lines[k:k + 8]:
        if not ln.added:
            return False
        code = ln.text.split("//", 1)[0]
        brace, semi = code.find("{"), code.find(";")
        if brace >= 0 and (semi < 0 or brace < semi):
            return True
        if semi >= 0:
            return False
    return False


def names_used(patch, skip: dict[int, set[str]] | None = None) -> set[str]:
    """The names the patch's added C lines mention, outside comments,
    export lines, and the defining or declaring line of each name."""
    used: set[str] = set()
    for diff in c_diffs(patch):
        for ln in diff.added_lines():
            text = ln.text
            stripped = text.strip()
            if not stripped or stripped.startswith(("*", "/*", "//")) or _EXPORT.match(text):
                continue
            code = text.split("//", 1)[0].split("/*", 1)[0]
            names = set(_NAME.findall(code))
            declared = _declared_on(text)
            if declared:
                names.discard(declared)
            used |= names
    return used


def _declared_on(text: str) -> str | None:
    """The name a line defines or declares at column 0 (a prototype, a
    stub, a macro), if it does."""
    if not text[:1] or text[:1] in " \t":
        return None
    m = _MACRO.match(text)
    if m:
        return m.group("name")
    m = _FUNCTION.match(text)
    if m and m.group("name") not in _KEYWORDS:
        return m.group("name")
    return None


def names_seen(patch) -> set[str]:
    """Names in the patch's context and removed C lines: what the tree
    had before it."""
    seen: set[str] = set()
    for diff in [d for d in patch.files if d.path.endswith(C_FILES) and not d.is_binary]:
        for hunk in diff.hunks:
            for ln in hunk.lines:
                if ln.kind != "+":
                    seen.update(_NAME.findall(ln.text))
            if hunk.section:
                seen.update(_NAME.findall(hunk.section))
    return seen


def substantial(text: str) -> bool:
    """A line worth following from patch to patch: more than a brace, a
    bare return, a comment marker or a declaration without initializer."""
    stripped = text.strip()
    if _BARE_DECLARATION.match(stripped) and " " in stripped:
        return False
    return len(stripped) >= 8 and not _TRIVIAL.match(stripped) and re.search(r"[A-Za-z_]{3}", stripped) is not None
