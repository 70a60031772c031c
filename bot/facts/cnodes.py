"""Plain facts about tree-sitter-c nodes, needing no region: names, calls,
arguments, declarators, ancestors, literals, comment text."""
from __future__ import annotations

from typing import Iterator

from ..common.lazyre import lazy_re

LOOP_TYPES = ("while_statement", "do_statement", "for_statement")
_INT = lazy_re(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$")


_MARKER = lazy_re(r"^\s*(/\*+|\*(?!/)|//+)?")


def strip_comment_markers(text: str) -> str:
    text = text.rstrip()
    if text.endswith("*/"):
        text = text[:-2]
    return _MARKER.sub("", text, count=1).strip()


def comment_inner(text: str) -> str | None:
    """A block comment line's text after its leading '*' (or '/*'), keeping
    the indentation that follows; None for a line that is only a marker."""
    s = text.strip()
    if s.endswith("*/"):
        s = s[:-2].rstrip()
    if s.startswith("/*"):
        s = s[2:]
    elif s.startswith("*"):
        s = s[1:]
    else:
        return s
    return s.rstrip()


def iter_nodes(node, types: set[str]) -> Iterator:
    """Descendants of node (and node) of the given types, in document order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in types:
            yield n
        stack.extend(reversed(n.children))


def unparen(node):
    """node without the parentheses around it."""
    while node is not None and node.type == "parenthesized_expression":
        node = node.named_children[0] if node.named_children else None
    return node


def unwrap(node):
    """node without parentheses and casts around it."""
    while node is not None and node.type in ("parenthesized_expression", "cast_expression"):
        if node.type == "cast_expression":
            node = node.child_by_field_name("value")
        else:
            node = node.named_children[0] if node.named_children else None
    return node


def call_name(call) -> str:
    fn = call.child_by_field_name("function")
    if fn is None:
        return ""
    return fn.text.decode("utf-8", "replace") if fn.text is not None else ""


def call_args(call) -> list:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def int_literal(text: str) -> int | None:
    m = _INT.match(text.strip())
    if not m:
        return None
    digits = m.group(1)
    if digits.lower().startswith("0x"):
        return int(digits, 16)
    if digits.lower().startswith("0b"):
        return int(digits[2:], 2)
    if len(digits) > 1 and digits.startswith("0"):
        return int(digits, 8)
    return int(digits)


def _is_bool_type(type_text: str) -> bool:
    words = type_text.replace("const", " ").split()
    return bool(words) and words[-1] in ("bool", "_Bool")


def _declares_pointer(declarator) -> bool:
    node = declarator
    while node is not None and node.type not in ("identifier", "field_identifier"):
        if node.type == "pointer_declarator":
            return True
        node = node.child_by_field_name("declarator")
    return False


def _inner_function(declarator):
    node = declarator
    while node is not None:
        if node.type == "function_declarator":
            return node
        node = node.child_by_field_name("declarator")
    return None


def function_head(region, func) -> str:
    """A function definition's text before its body: storage class, kernel
    annotations, type, declarator. Tree-sitter may leave the first words
    (`static __always_inline union ...`) outside the definition, as an ERROR
    node before it; the head then starts with them."""
    body = func.child_by_field_name("body")
    end = body.start_byte if body is not None else func.end_byte
    start = func.start_byte
    prev = func.prev_sibling
    if prev is not None and prev.type == "ERROR" and prev.end_point[0] >= func.start_point[0] - 1:
        start = prev.start_byte
    else:  # words on the same line before the definition
        start = region.source.rfind(b"\n", 0, start) + 1
    return region.source[start:end].decode("utf-8", "replace")


def function_name(func) -> str | None:
    """The name a function definition defines."""
    return declared_name(func.child_by_field_name("declarator"))


def declared_name(declarator, kind: str = "identifier") -> str | None:
    """The identifier at the bottom of a declarator (`*p`, `a[4]`, `f(void)`)."""
    node = declarator
    while node is not None and node.type not in (kind, "identifier"):
        node = node.child_by_field_name("declarator")
    return node.text.decode("utf-8", "replace") if node is not None else None


def declaration_type(region, decl) -> str | None:
    """The type a declaration gives, qualifiers included ('const u32')."""
    tnode = decl.child_by_field_name("type")
    if tnode is None:
        return None
    quals = [region.text(c) for c in decl.children if c.type == "type_qualifier"]
    return " ".join(quals + [region.text(tnode)])


def ancestor(node, types, stop=None):
    """node or its nearest ancestor whose type is one of types, not looking
    past stop; None when there is none."""
    while node is not None and node != stop:
        if node.type in types:
            return node
        node = node.parent
    return None


def enclosing_function(node):
    return ancestor(node, ("function_definition",))
