"""C facts from tree-sitter-c, for every rule that reads code.

A Region is a piece of post-image source: one hunk's context and added
lines, or the whole post-image file when it is known. Tree-sitter parses
fragments with error recovery, so a hunk that starts mid-function still
yields its comments, loops and calls. A hunk that starts inside a block
comment gets a synthetic '/*' line so the comment parses as one.

What a rule may ask a Region, besides its nodes by type: the text of a node,
a node without its parentheses or casts, an operator, the value of an
integer constant, whether a value is used as a truth value, the declared
type of a name, a function's annotations and whether it is wholly in sight,
the #defines of the region, and the comments near a node; and (CSites) its
calls, assignments, returns and binary expressions, each read once. Every
query is linear in the size of the region (or cached), whatever the nesting.
"""
from __future__ import annotations

from typing import Iterator, NamedTuple

from ..common.kept import cached_property
from ..common.lazyre import lazy_re
from .cfacts import TRUTH_MACROS, CFacts, int_of_text, parse_expression  # noqa: F401 (rules use them)
from .csites import CSites
from .cnodes import LOOP_TYPES, ancestor, call_args, call_name, comment_inner, declaration_type, declared_name, enclosing_function, function_head, function_name, int_literal, iter_nodes, strip_comment_markers, unparen, unwrap

_PARSER = None


def parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter

        _PARSER = tree_sitter.Parser(tree_sitter.Language(_c_language()))
    return _PARSER


def _c_language():
    """tree-sitter-c's grammar, loaded from its extension module directly:
    the package's __init__ imports importlib.resources (for query files we
    do not use), which costs `tdxbot b4-check` more than the grammar."""
    import importlib.machinery
    import importlib.util
    import os

    spec = importlib.util.find_spec("tree_sitter_c")
    folder = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else None
    names = [n for n in os.listdir(folder) if n.startswith("_binding.")] if folder else []
    if len(names) != 1:  # an unusual install: the package's own way
        import tree_sitter_c

        return tree_sitter_c.language()
    loader = importlib.machinery.ExtensionFileLoader("tree_sitter_c._binding",
                                                     os.path.join(folder, names[0]))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module.language()


def _starts_inside_comment(lines: list[str]) -> bool:
    for text in lines:
        opened = text.find("/*")
        closed = text.find("*/")
        if closed >= 0 and (opened < 0 or closed < opened):
            return True
        if opened >= 0:
            return False
        stripped = text.strip()
        if stripped and not stripped.startswith("*"):
            return False
    return False


# Macros whose argument is tested for truth (the kernel's assertions and
# branch hints).
_PARAMETERS = lazy_re(r"^[\w\s*,\[\]]+\)?\s*$")
_STATEMENT_WORD = lazy_re(r"^\s*(?:if|while|for|switch|return|do|else|goto|case|break|continue)\b")


# Kernel annotations tree-sitter does not know: `static __always_inline u64
# f(...)` would parse as a declaration of __always_inline. They are blanked
# (same length, so every byte offset holds) in what tree-sitter parses;
# rules read them from the text (see CFacts.annotations).
# Every annotation starts with "__", "no" or "asmlinkage", so there is one
# pattern for each, starting with that literal: the re module finds a leading
# literal with a fast scan, where one pattern starting with \b is tried at
# every byte of every region. The look-behind after the literal is that \b.
_ANNOTATIONS = (
    lazy_re(rb"__(?<!\w__)(?:(?:always_inline|init|exit|ref|meminit|init_or_module|must_check|cold|hot|"
            rb"flatten|maybe_unused|noreturn|cpuidle|weak|visible|ro_after_init|initdata|initconst|"
            rb"read_mostly|percpu|rcu|iomem|user|force|packed|latent_entropy|noclone|attribute_const__)\b"
            rb"|(?:must_hold|acquires|releases|aligned|section|printf|alias|diag\w*)"
            rb"\s*\((?:[^()\n]|\([^()\n]*\))*\))"),
    lazy_re(rb"no(?<!\wno)(?:instr|trace)\b"),
    lazy_re(rb"asmlinkage(?<!\wasmlinkage)\b"),
)


def _blank_annotations(source: bytes) -> bytes:
    spans = [m.span() for pattern in _ANNOTATIONS for m in pattern.finditer(source)]
    if not spans:
        return source
    masked = bytearray(source)
    for start, end in spans:  # spans may nest (an annotation inside __must_hold()'s parentheses)
        masked[start:end] = b" " * (end - start)
    return bytes(masked)


def _parseable(source: bytes) -> bytes:
    """The source with kernel annotations blanked, and closing braces added
    for blocks a hunk cuts off (after the last line, so no line moves)."""
    masked = _blank_annotations(source)
    depth = masked.count(b"{") - masked.count(b"}")
    return masked + b"}\n" * depth if 0 < depth <= 64 else masked


def _opener(lines: list[str], context: str) -> list[str]:
    """The synthetic line that puts a hunk starting inside a function (or a
    struct, or a parameter list) back inside it."""
    first = next((ln for ln in lines if ln.strip()), "")
    if not first or not (first[:1].isspace() or first.startswith("}")):
        return []  # starts at file scope
    context = context.strip()
    if context.count("(") > context.count(")"):
        if _PARAMETERS.match(first) and not _STATEMENT_WORD.match(first):
            return [context]  # the parameter list goes on
        return [context + ") {"]  # git cut the signature short; the body follows
    if context.endswith(("{", "=", ",")):
        return [context]  # inside a struct or an initializer
    if "(" in context and context.endswith(")"):
        return [context + " {"]
    if first.lstrip().startswith(("*", "/*", "//", "#")):
        return []
    return ["void __hunk__(void) {"]


class Region(CFacts, CSites):
    """Consecutive post-image lines, parsed as C (the C facts are CFacts'
    methods; its calls, assignments, returns and binary expressions, CSites')."""

    def __init__(self, lines: list[str], numbers: list[int], added: frozenset[int],
                 context: str = ""):
        self.lines = lines
        self.numbers = numbers  # post-image line number of each line
        self.added = added  # the post-image numbers this patch adds
        # Synthetic rows (with no line number) go first when the region
        # starts inside a function, so that its statements parse as
        # statements: the hunk header's context (git takes it from the line
        # that opens the function) and, if need be, a '/*' for a region that
        # starts mid-comment.
        self.prefix = _opener(lines, context)
        if _starts_inside_comment(lines[:40]):
            self.prefix.append("/*")
        self.offset = len(self.prefix)

    @cached_property
    def source(self) -> bytes:
        prefix = "".join(p + "\n" for p in self.prefix)
        return (prefix + "\n".join(self.lines) + "\n").encode("utf-8", "surrogateescape")

    @cached_property
    def tree(self):
        return parser().parse(_parseable(self.source))

    @property
    def root(self):
        return self.tree.root_node

    # ---- lines ------------------------------------------------------------

    def line_no(self, row: int) -> int | None:
        """Post-image number of a tree row (None for the synthetic line)."""
        i = row - self.offset
        if 0 <= i < len(self.numbers):
            return self.numbers[i]
        return None

    @cached_property
    def _rows(self) -> dict[int, int]:
        return {no: i + self.offset for i, no in enumerate(self.numbers)}

    def row_of(self, line_no: int) -> int | None:
        return self._rows.get(line_no)

    def text_at(self, line_no: int) -> str:
        row = self.row_of(line_no)
        return self.lines[row - self.offset] if row is not None else ""

    def is_added(self, line_no: int | None) -> bool:
        return line_no is not None and line_no in self.added

    def node_lines(self, node) -> range:
        """Post-image line numbers a node spans (clipped to the region)."""
        first = self.line_no(max(node.start_point[0], self.offset))
        last = self.line_no(min(node.end_point[0], self.offset + len(self.numbers) - 1))
        if first is None or last is None:
            return range(0)
        return range(first, last + 1)

    def touches_added(self, node) -> bool:
        return any(n in self.added for n in self.node_lines(node))

    def first_added(self, node) -> int | None:
        """The first line of node that the patch adds, if any."""
        return next((n for n in self.node_lines(node) if n in self.added), None)

    @cached_property
    def has_added(self) -> bool:
        return any(n in self.added for n in self.numbers)

    def text(self, node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    # ---- nodes ------------------------------------------------------------

    @cached_property
    def _index(self) -> dict[str, list]:
        """Every node by type, in document order, from one cursor walk.
        (A tree-sitter query would do this in C, but queries slow down badly
        on deeply nested trees such as a megabyte-long expression; the walk
        is linear in the node count whatever the shape.)"""
        index: dict[str, list] = {}
        cursor = self.root.walk()
        while True:
            node = cursor.node
            index.setdefault(node.type, []).append(node)
            if cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return index

    def find(self, *types: str, within=None) -> list:
        """Nodes of the given types, in document order; only those inside
        `within` when it is given (found by bisection: a rule asking about
        each function of a big file must not scan the file each time)."""
        if within is None:
            if len(types) == 1:
                return self._index.get(types[0], [])  # shared: callers only read it
            found = [n for t in types for n in self._index.get(t, ())]
            found.sort(key=lambda n: n.start_byte)
            return found
        return self.find_in(within.start_byte, within.end_byte, *types)

    def find_in(self, lo: int, hi: int, *types: str) -> list:
        """Nodes of the given types wholly inside the bytes lo..hi, in
        document order."""
        from bisect import bisect_left

        found = []
        for t in types:
            nodes = self._index.get(t)
            if not nodes:
                continue
            starts = self._starts(t)
            found.extend(n for n in nodes[bisect_left(starts, lo):bisect_left(starts, hi)]
                         if n.end_byte <= hi)
        if len(types) > 1:
            found.sort(key=lambda n: n.start_byte)
        return found

    def _starts(self, node_type: str) -> list[int]:
        memo = self.__dict__.setdefault("_start_lists", {})
        if node_type not in memo:
            memo[node_type] = [n.start_byte for n in self._index.get(node_type, ())]
        return memo[node_type]

    def nodes(self, *types: str) -> Iterator:
        return iter(self.find(*types))

    # ---- comments ---------------------------------------------------------

    def comments(self) -> list["Comment"]:
        return self._comments

    @cached_property
    def _comments(self) -> list["Comment"]:
        out = []
        for node in self.find("comment"):
            raw = self.text(node)
            start = node.start_point[0]
            rows = raw.split("\n")
            entries = []
            for k, _text in enumerate(rows):
                no = self.line_no(start + k)
                if no is not None:
                    entries.append((no, self.lines[start + k - self.offset]))
            if entries:
                out.append(Comment(node=node, raw=raw, lines=entries,
                                   is_block=raw.startswith("/*"),
                                   complete_start=self.line_no(start) is not None))
        return out

    @cached_property
    def _comments_by_end_row(self) -> dict[int, list["Comment"]]:
        index: dict[int, list[Comment]] = {}
        for c in self._comments:
            index.setdefault(c.node.end_point[0], []).append(c)
        return index

    @cached_property
    def _comment_starts(self) -> list[int]:
        return [c.node.start_byte for c in self._comments]

    def comments_near(self, row: int, above: int) -> list["Comment"]:
        """Comments ending on row or up to `above` rows before it, and
        comments starting on row (a tail comment)."""
        found = []
        for r in range(row - above, row + 1):
            found.extend(self._comments_by_end_row.get(r, ()))
        found.extend(c for c in self._comments_by_end_row.get(row + 1, ())
                     if c.node.start_point[0] == row)
        return found

    def comments_ending_on(self, row: int) -> list["Comment"]:
        return self._comments_by_end_row.get(row, [])

    def comments_within(self, node) -> list["Comment"]:
        return self.comments_between(node.start_byte, node.end_byte)

    def comments_between(self, start: int, end: int) -> list["Comment"]:
        """Comments wholly inside the bytes start..end."""
        from bisect import bisect_left

        i = bisect_left(self._comment_starts, start)
        out = []
        while i < len(self._comments) and self._comments[i].node.start_byte < end:
            if self._comments[i].node.end_byte <= end:
                out.append(self._comments[i])
            i += 1
        return out

    def comment_above(self, node, max_gap: int = 12) -> list["Comment"]:
        """Comments that end within max_gap lines above node, nearest first,
        plus comments inside node."""
        start_row = node.start_point[0]
        found = self.comments_within(node)
        for r in range(start_row, start_row - max_gap - 1, -1):
            found.extend(c for c in self._comments_by_end_row.get(r, ())
                         if c.node.start_byte < node.start_byte)
        found.sort(key=lambda c: -c.node.end_point[0])
        return found


class Comment(NamedTuple):
    node: object
    raw: str
    lines: list[tuple[int, str]]  # (post-image number, full source line)
    is_block: bool
    complete_start: bool  # False when the '/*' lies before the region

    def prose(self) -> str:
        """The comment's words without the comment markers."""
        words = []
        for _, text in self.lines:
            words.append(strip_comment_markers(text))
        return " ".join(w for w in words if w)
