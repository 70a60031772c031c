"""What the series rules share: the definitions a patch adds and the
names its added lines use (from tree-sitter's parse of each patch's C
files, through SeriesCheck.files), the names its context and removed
lines show, and the "substantial" lines worth following across patches."""
from __future__ import annotations

import re

from ..lint.kit import NamedTuple, ancestor, call_name, function_name, iter_nodes, lazy_re

C_FILES = (".c", ".h")

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


def _name_node(func, name: str):
    """The identifier that names a function definition."""
    return next((n for n in iter_nodes(func.child_by_field_name("declarator"), {"identifier"})
                 if n.text.decode("utf-8", "replace") == name), None)


def definitions(ctx, patch) -> list[Definition]:
    """The functions (with a body) and function-like macros a patch adds,
    from tree-sitter's parse of its C files (ctx: the SeriesCheck)."""
    out = []
    for fc in ctx.files(patch):
        header = fc.path.endswith(".h")
        for code in fc.code:
            c = code.c
            for func in c.functions():
                name = function_name(func)
                node = _name_node(func, name) if name else None
                line = c.line_no(node.start_point[0]) if node is not None else None
                if line is None or not c.is_added(line) or name in _KEYWORDS:
                    continue
                marks = c.annotations(func)
                body = func.child_by_field_name("body")
                head = c.text(func)[:body.start_byte - func.start_byte] if body is not None else ""
                out.append(Definition(name, patch.index, fc.path, line, node.start_point[1] + 1, "function",
                                      "static" in marks, bool(marks & {"inline", "__always_inline"}),
                                      "__maybe_unused" in head, header))
            for macro in c.find("preproc_function_def"):
                node = macro.child_by_field_name("name")
                line = c.line_no(node.start_point[0]) if node is not None else None
                if line is None or not c.is_added(line):
                    continue
                out.append(Definition(c.text(node), patch.index, fc.path, line, node.start_point[1] + 1, "macro",
                                      False, False, False, header))
    return out


def _defining(node) -> bool:
    """Is this identifier the name a definition, prototype or macro gives
    (not a use of it)?"""
    parent = node.parent
    if parent is None:
        return False
    if parent.type in ("preproc_function_def", "preproc_def"):
        return parent.child_by_field_name("name") == node
    if parent.type == "function_declarator" and parent.child_by_field_name("declarator") == node:
        holder = parent.parent
        while holder is not None and holder.type in ("pointer_declarator", "parenthesized_declarator"):
            holder = holder.parent
        return holder is not None and holder.type in ("function_definition", "declaration")
    return False


def names_used(ctx, patch) -> set[str]:
    """The names the patch's added C lines use, read from tree-sitter's
    parse: identifiers, less the names that definitions, prototypes and
    macros give and those inside EXPORT_SYMBOL(); the words of added macro
    bodies (which tree-sitter leaves unparsed) count too."""
    used: set[str] = set()
    for fc in ctx.files(patch):
        for code in fc.code:
            c = code.c
            for node in c.find("identifier", "type_identifier", "field_identifier"):
                if not c.is_added(c.line_no(node.start_point[0])) or _defining(node):
                    continue
                call = ancestor(node, {"call_expression"})
                if call is not None and call_name(call).startswith("EXPORT_SYMBOL"):
                    continue
                used.add(c.text(node))
            for arg in c.find("preproc_arg"):
                if c.is_added(c.line_no(arg.start_point[0])):
                    used.update(_NAME.findall(c.text(arg)))
    return used


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
