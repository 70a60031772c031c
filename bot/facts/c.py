"""C facts from tree-sitter-c, for every rule that reads code.

A Region is a piece of post-image source: one hunk's context and added
lines, or the whole post-image file when it is known. Tree-sitter parses
fragments with error recovery, so a hunk that starts mid-function still
yields its comments, loops and calls. A hunk that starts inside a block
comment gets a synthetic '/*' line so the comment parses as one.

What a Region answers, in the order of this module:
- lines: post-image numbers, added lines, the text of a node;
- nodes: every node by type, and those inside a node or a byte range;
- comments: each comment with its lines, and the comments near a node;
- sites: each call with its callee's name, each assignment or initializer
  with its target and value, each return with its value, each binary
  expression with its operator, read once (a dozen rules and the TDX
  facts walk these same nodes);
- C: an operator, the value of an integer constant, whether a value is
  used as a truth value, the declared type of a name, a function's
  annotations and whether it is wholly in sight, the #defines.
Every query is linear in the size of the region (or cached), whatever
the nesting. Facts about a node alone (its name, its arguments, the node
without parentheses) are plain functions at the top of the module.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from ..common import NamedTuple, cached_property, lazy_re


# ---- facts about a node alone ---------------------------------------------

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


TRUTH_MACROS = frozenset({
    "likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "WARN", "WARN_ONCE", "BUG_ON",
    "KVM_BUG_ON", "TDX_BUG_ON", "TDX_BUG_ON_2", "TDX_BUG_ON_3", "VM_WARN_ON", "VM_BUG_ON",
    "WARN_ON_FUNCTION_MISMATCH",
})
_TRUTH_STATEMENTS = ("if_statement", "while_statement", "do_statement", "for_statement")
_ANNOTATION = lazy_re(r"\b(__init|__ref|__meminit|__init_or_module|noinstr|__always_inline|"
                      r"inline|static|__must_check|__cold|notrace|__flatten)\b")
_MUST_HOLD = lazy_re(r"\b__must_hold\s*+\(\s*+([^()]*+(?:\([^()]*+\))?+[^()]*+)\)")
# Past this many declarations in one scope, a type is looked up in an index
# of the scope's names made once, not by reading the declarations again.
_MANY_DECLARATIONS = 64
_BIT_MACROS = {"BIT": 1, "BIT_ULL": 1, "_BITUL": 1, "_BITULL": 1, "BIT_U64": 1}


class Call(NamedTuple):
    node: object  # a call_expression
    name: str  # the callee as written ("" when tree-sitter found none)


class Assignment(NamedTuple):
    node: object  # an init_declarator or an assignment_expression
    target: object  # its declarator or left side (None when tree-sitter found none)
    value: object  # the value as written (None when there is none)
    call: object  # the value without parentheses and casts, when it is a call; else None
    callee: str  # that call's name, or ""
    is_init: bool  # an initializer (`u64 err = ...`) rather than an assignment


class Return(NamedTuple):
    node: object  # a return_statement
    value: object  # its first named child (None for a bare return)
    call: object  # that value unwrapped, when it is a call; else None
    callee: str  # that call's name, or ""


class Binary(NamedTuple):
    node: object  # a binary_expression
    op: str  # its operator ("" when tree-sitter found none)


def _slice(items: tuple[list, list[int]], within) -> list:
    """The items wholly inside within (a node), or all of them."""
    return items[0] if within is None else _between(items, within.start_byte, within.end_byte)


def _between(items: tuple[list, list[int]], lo: int, hi: int) -> list:
    """The items wholly inside the bytes lo..hi."""
    found, starts = items
    return [s for s in found[bisect_left(starts, lo):bisect_left(starts, hi)] if s.node.end_byte <= hi]


def _called(value) -> tuple[object, str]:
    call = unwrap(value)
    if call is not None and call.type == "call_expression":
        return call, call_name(call)
    return None, ""


# ---- a region -----------------------------------------------------------------

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
_PARAMETERS = lazy_re(r"^[\w\s*,\[\]]++\)?+\s*+$")
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


class Region:
    """Consecutive post-image lines, parsed as C, and the C facts of their code."""

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

    @cached_property
    def _newlines(self) -> list[int]:
        source, found, at = self.source, [], self.source.find(b"\n")
        while at >= 0:
            found.append(at)
            at = source.find(b"\n", at + 1)
        return found

    def row_and_column(self, byte: int) -> tuple[int, int]:
        """Tree row and byte column of a byte of the source, by bisection
        (a rule reporting thousands of fixes in one file asks thousands of
        times)."""
        newlines = self._newlines
        row = bisect_left(newlines, byte)
        return row, byte - (newlines[row - 1] + 1 if row else 0)

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

    # ---- sites: calls, assignments, returns, binary expressions ---------

    def calls(self, within=None) -> list[Call]:
        return _slice(self._calls, within)

    def calls_between(self, start: int, end: int) -> list[Call]:
        return _between(self._calls, start, end)

    def assignments(self, within=None) -> list[Assignment]:
        return _slice(self._assignments, within)

    def returns(self, within=None) -> list[Return]:
        return _slice(self._returns, within)

    def binaries(self, within=None) -> list[Binary]:
        return _slice(self._binaries, within)

    @cached_property
    def _binaries(self) -> tuple[list[Binary], list[int]]:
        nodes = self.find("binary_expression")
        return [Binary(b, self.op(b)) for b in nodes], [b.start_byte for b in nodes]

    @cached_property
    def _calls(self) -> tuple[list[Call], list[int]]:
        nodes = self.find("call_expression")
        return [Call(c, call_name(c)) for c in nodes], [c.start_byte for c in nodes]

    @cached_property
    def _assignments(self) -> tuple[list[Assignment], list[int]]:
        out = []
        for node in self.find("init_declarator", "assignment_expression"):
            is_init = node.type == "init_declarator"
            value = node.child_by_field_name("value" if is_init else "right")
            out.append(Assignment(node, node.child_by_field_name("declarator" if is_init else "left"),
                                  value, *_called(value), is_init))
        return out, [a.node.start_byte for a in out]

    @cached_property
    def _returns(self) -> tuple[list[Return], list[int]]:
        out = []
        for node in self.find("return_statement"):
            value = node.named_child(0) if node.named_child_count else None
            out.append(Return(node, value, *_called(value)))
        return out, [r.node.start_byte for r in out]

    # ---- C ----------------------------------------------------------------

    def op(self, node) -> str:
        """The operator of a binary, unary, update or assignment expression."""
        o = node.child_by_field_name("operator")
        return self.text(o) if o is not None else ""

    def is_constant(self, node, name: str) -> bool:
        node = unwrap(node)
        return node is not None and node.type == "identifier" and self.text(node) == name

    def int_value(self, node, defines: dict[str, str] | None = None, _depth: int = 0) -> int | None:
        """The value of an integer constant expression: literals with any
        suffix, parentheses, casts, | & << >> + - ~, BIT()/BIT_ULL()/_BITUL(),
        GENMASK(_ULL)(), and (one level deep, up to 8) #defines of the region."""
        node = unwrap(node)
        if node is None or _depth > 8:
            return None
        if node.type == "number_literal":
            return int_literal(self.text(node))
        if node.type == "identifier":
            value = (defines if defines is not None else self.defines()).get(self.text(node))
            return int_of_text(value, self, _depth + 1) if value is not None else None
        if node.type == "binary_expression":
            left = self.int_value(node.child_by_field_name("left"), defines, _depth)
            right = self.int_value(node.child_by_field_name("right"), defines, _depth)
            if left is None or right is None:
                return None
            op = self.op(node)
            ops = {"|": lambda a, b: a | b, "&": lambda a, b: a & b, "+": lambda a, b: a + b,
                   "-": lambda a, b: a - b, "<<": lambda a, b: a << b if b < 128 else None,
                   ">>": lambda a, b: a >> b, "^": lambda a, b: a ^ b,
                   "*": lambda a, b: a * b if a < 1 << 64 and b < 1 << 64 else None}
            return ops[op](left, right) if op in ops else None
        if node.type == "unary_expression":
            value = self.int_value(node.child_by_field_name("argument"), defines, _depth)
            if value is None:
                return None
            return {"~": (~value) & ((1 << 64) - 1), "-": -value, "+": value}.get(self.op(node))
        if node.type == "call_expression":
            name = call_name(node)
            args = call_args(node)
            values = [self.int_value(a, defines, _depth) for a in args]
            if name in _BIT_MACROS and len(values) == 1 and values[0] is not None and values[0] < 128:
                return 1 << values[0]
            if name in ("GENMASK", "GENMASK_ULL") and len(values) == 2 and None not in values \
                    and 0 <= values[1] <= values[0] < 128:
                return ((1 << (values[0] + 1)) - 1) & ~((1 << values[1]) - 1)
        return None

    # ---- truth contexts ---------------------------------------------------

    def truth_context(self, node) -> bool:
        """Is the value of node only tested for zero/non-zero? (an if, while,
        for or ?: condition, an operand of !, && or ||, a compare with 0,
        the argument of likely()/unlikely()/WARN_ON*()/BUG_ON()/KVM_BUG_ON(),
        a cast to bool, a return from a bool function, a bool variable)"""
        child, parent = node, node.parent
        while parent is not None and parent.type == "parenthesized_expression":
            child, parent = parent, parent.parent
        if parent is None:
            return False
        kind = parent.type
        if kind in _TRUTH_STATEMENTS or kind == "conditional_expression":
            return parent.child_by_field_name("condition") == child
        if kind == "unary_expression":
            return self.op(parent) == "!"
        if kind == "binary_expression":
            op = self.op(parent)
            if op in ("&&", "||"):
                return True
            if op in ("==", "!="):
                other = parent.child_by_field_name("right")
                if other == child:
                    other = parent.child_by_field_name("left")
                return other is not None and self.int_value(other, {}) == 0
            return False
        if kind == "argument_list":
            call = parent.parent
            return call is not None and call_name(call) in TRUTH_MACROS \
                and call_args(call)[:1] == [child]
        if kind == "cast_expression":
            return _is_bool_type(self.text(parent.child_by_field_name("type") or parent))
        if kind == "return_statement":
            func = self.function_at(parent.start_byte)
            return func is not None and _is_bool_type(self.return_type(func) or "")
        if kind == "init_declarator":
            decl = parent.parent
            return decl is not None and decl.type == "declaration" \
                and _is_bool_type(declaration_type(self, decl) or "")
        if kind == "assignment_expression" and parent.child_by_field_name("right") == child \
                and self.op(parent) == "=":
            target = unwrap(parent.child_by_field_name("left"))
            if target is not None and target.type == "identifier":
                scope = self.function_at(parent.start_byte) or self.root
                return _is_bool_type(self.declared_type(scope, self.text(target)) or "")
        return False

    # ---- declarations -----------------------------------------------------

    def declared_type(self, scope, name: str) -> str | None:
        """The declared type of a local, a parameter, a global of the region,
        or a struct field the region shows (for `p->field`, give 'field')."""
        if scope is not None:
            memo = self.__dict__.setdefault("_decl_types", {})
            key = (scope.start_byte, scope.end_byte, name)
            if key not in memo:
                memo[key] = self._type_declared_in(scope, name)
            if memo[key] is not None:
                return memo[key]
        return self._globals.get(name) or self._fields.get(name)

    def _type_declared_in(self, scope, name: str) -> str | None:
        """The type the first declaration of name in scope gives it. Only
        the declarations whose text holds the name are read: a function
        declares many names, and a rule asks about one or two. (A scope of
        more than _MANY_DECLARATIONS gets an index of all its names.)"""
        key = (scope.start_byte, scope.end_byte) if scope is not None else None
        memo = self.__dict__.setdefault("_declarations_memo", {})
        decls = memo.get(key)
        if decls is None:
            decls = memo[key] = self.find("declaration", "parameter_declaration", within=scope)
        if len(decls) > _MANY_DECLARATIONS:
            return self._declared_types(key, decls).get(name)
        wanted = name.encode("utf-8") if "\ufffd" not in name else b""
        source = self.source
        for decl in decls:
            if wanted not in source[decl.start_byte:decl.end_byte]:
                continue
            found = self._declared_type(decl, name)
            if found is not None:
                return found
        return None

    def _declared_type(self, decl, name: str) -> str | None:
        """The type decl gives name, if it declares it."""
        return next((typed for declared, typed in self._declarations_of(decl) if declared == name), None)

    def _declarations_of(self, decl):
        """(name, type) of each variable decl declares (not prototypes)."""
        type_text = declaration_type(self, decl)
        if type_text is None:
            return
        for d in decl.children_by_field_name("declarator"):
            if _inner_function(d) is None:
                yield declared_name(d), type_text + (" *" if _declares_pointer(d) else "")

    def _declared_types(self, key, decls) -> dict[str, str]:
        """Every name the declarations of scope declare, with the type its
        first declaration gives it; made once per scope. For a scope of
        hundreds of declarations, where looking through all of them for
        each name asked about would cost their square."""
        memo = self.__dict__.setdefault("_declared_types_memo", {})
        if key not in memo:
            types: dict[str, str] = {}
            for decl in decls:
                for name, typed in self._declarations_of(decl):
                    if name is not None:
                        types.setdefault(name, typed)
            memo[key] = types
        return memo[key]

    @cached_property
    def _globals(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for decl in self.root.named_children:
            if decl.type == "declaration":
                type_text = declaration_type(self, decl)
                for d in decl.children_by_field_name("declarator"):
                    name = declared_name(d)
                    if name is not None and type_text and d.type != "function_declarator":
                        out.setdefault(name, type_text + (" *" if _declares_pointer(d) else ""))
        return out

    @cached_property
    def _fields(self) -> dict[str, str]:
        """Struct fields declared in the region, by field name."""
        out: dict[str, str] = {}
        for field in self.find("field_declaration"):
            type_text = declaration_type(self, field)
            for d in field.children_by_field_name("declarator"):
                name = declared_name(d, "field_identifier")
                if name is not None and type_text:
                    out.setdefault(name, type_text + (" *" if _declares_pointer(d) else ""))
        return out

    @cached_property
    def _function_types(self) -> dict[str, str]:
        """Return type of each function the region defines or declares."""
        out: dict[str, str] = {}
        for func in self.find("function_definition"):
            name = function_name(func)
            if name is not None:
                out.setdefault(name, self.return_type(func) or "")
        for decl in self.find("declaration"):
            for d in decl.children_by_field_name("declarator"):
                if d.type == "function_declarator" or (d.type == "pointer_declarator"
                                                       and _inner_function(d) is not None):
                    name = declared_name(d)
                    type_text = declaration_type(self, decl)
                    if name is not None and type_text:
                        out.setdefault(name, type_text + (" *" if d.type == "pointer_declarator" else ""))
        return out

    @cached_property
    def declarators(self) -> dict[str, object]:
        """The first function declarator of each name the region defines or
        declares."""
        out: dict[str, object] = {}
        for declarator in self.find("function_declarator"):
            name = declared_name(declarator.child_by_field_name("declarator"))
            if name is not None and declarator.child_by_field_name("parameters") is not None:
                out.setdefault(name, declarator)
        return out

    def must_check(self, name: str) -> bool:
        """Does the region declare or define the function name with
        __must_check (before its type or after it: `__must_check u64 f(...)`,
        `static u64 __must_check f(...)`)?"""
        declarator = self.declarators.get(name)
        if declarator is None:
            return False
        outer = declarator
        while outer.parent is not None and outer.parent.type not in ("declaration", "function_definition",
                                                                     "translation_unit", "field_declaration"):
            outer = outer.parent
        start = outer.parent.start_byte if outer.parent is not None and outer.parent.type != "translation_unit" \
            else outer.start_byte
        start = self.source.rfind(b"\n", 0, start) + 1
        return b"__must_check" in self.source[start:declarator.start_byte]

    def param_types(self, name: str) -> list[str] | None:
        """The parameter types of a function the region defines or declares
        (worked out for the names asked about: most are never called)."""
        memo = self.__dict__.setdefault("_param_memo", {})
        if name not in memo:
            declarator = self.declarators.get(name)
            memo[name] = None if declarator is None else self._parameters(declarator)
        return memo[name]

    def _parameters(self, declarator) -> list[str]:
        types = []
        for p in declarator.child_by_field_name("parameters").named_children:
            if p.type == "parameter_declaration":
                type_text = declaration_type(self, p) or ""
                types.append(type_text + (" *" if _declares_pointer(p.child_by_field_name("declarator"))
                                          else ""))
            elif p.type == "variadic_parameter":
                break
        return types

    def function_type(self, name: str) -> str | None:
        """The return type of a function the region defines or declares."""
        return self._function_types.get(name)

    def return_type(self, func) -> str | None:
        memo = self.__dict__.setdefault("_return_types", {})  # asked for each return statement
        key = (func.start_byte, func.end_byte)
        if key not in memo:
            tnode = func.child_by_field_name("type")
            declarator = func.child_by_field_name("declarator")
            pointer = declarator is not None and declarator.type == "pointer_declarator"
            memo[key] = self.text(tnode) + (" *" if pointer else "") if tnode is not None else None
        return memo[key]

    # ---- names ------------------------------------------------------------

    @cached_property
    def _identifiers(self) -> dict[str, tuple[list[int], list]]:
        """name -> (sorted start bytes, identifier nodes)."""
        out: dict[str, tuple[list[int], list]] = {}
        for ident in self.find("identifier"):
            starts, nodes = out.setdefault(self.text(ident), ([], []))
            starts.append(ident.start_byte)
            nodes.append(ident)
        return out

    def reads(self, name: str, start: int, end: int):
        """The identifiers that read name between the bytes start and end,
        in order (an assignment's target is a write, not a read)."""
        starts, nodes = self._reads_of(name)
        for i in range(bisect_left(starts, start), len(starts)):
            if starts[i] >= end:
                return
            yield nodes[i]

    def _reads_of(self, name: str) -> tuple[list[int], list]:
        """Start bytes and nodes of the identifiers that read name, sorted:
        worked out once per name, so that asking for the first read after
        each of a thousand writes does not walk the writes again each time."""
        memo = self.__dict__.setdefault("_reads_memo", {})
        if name not in memo:
            starts, nodes = self._identifiers.get(name, ([], []))
            kept = [(at, ident) for at, ident in zip(starts, nodes) if not self._is_plain_write(ident)]
            memo[name] = ([at for at, _ in kept], [ident for _, ident in kept])
        return memo[name]

    def _is_plain_write(self, ident) -> bool:
        parent = ident.parent
        return parent is not None and parent.type == "assignment_expression" and \
            parent.child_by_field_name("left") == ident and self.op(parent) == "="

    # ---- functions --------------------------------------------------------

    def annotations(self, func) -> frozenset[str]:
        """Kernel annotations of a function definition: __init, noinstr,
        __always_inline, inline, static, ... (tree-sitter reads most of them
        as ERROR nodes, so they come from the text before the body). Kept:
        several rules ask about every function."""
        memo = self.__dict__.setdefault("_annotations", {})
        key = (func.start_byte, func.end_byte)
        if key not in memo:
            memo[key] = frozenset(_ANNOTATION.findall(function_head(self, func)))
        return memo[key]

    def must_hold(self, func) -> list[str]:
        """The locks a function's __must_hold() annotations name."""
        return [m.group(1).strip() for m in _MUST_HOLD.finditer(function_head(self, func))]

    def whole_function(self, func) -> bool:
        """Is the whole function in sight, and its body parsed without
        errors? (Kernel annotations in the head, such as __always_inline,
        are errors to tree-sitter and do not count.)"""
        body = func.child_by_field_name("body") if func is not None else None
        return body is not None and self.line_no(func.start_point[0]) is not None \
            and self.line_no(func.end_point[0]) is not None and not body.has_error

    def functions(self) -> list:
        return self.find("function_definition")

    @cached_property
    def _function_spans(self) -> tuple[list[int], list[int], list]:
        """Start bytes, end bytes and nodes of the function definitions."""
        funcs = self.find("function_definition")
        return [f.start_byte for f in funcs], [f.end_byte for f in funcs], funcs

    def function_at(self, byte: int):
        """The function definition around a byte offset, or None. (A parent
        walk costs the depth of the tree per step in tree-sitter; this is a
        bisection, asked tens of times per function.)"""
        starts, ends, funcs = self._function_spans
        i = bisect_right(starts, byte) - 1
        return funcs[i] if i >= 0 and byte < ends[i] else None

    # ---- defines ----------------------------------------------------------

    def defines(self) -> dict[str, str]:
        """name -> value text of every object-like #define in the region."""
        memo = self.__dict__.get("_defines")
        if memo is None:
            memo = {}
            for node in self.find("preproc_def"):
                name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
                if name is not None and value is not None:
                    memo.setdefault(self.text(name), self.text(value).strip())
            self.__dict__["_defines"] = memo
        return memo

    def define_nodes(self) -> list:
        """(node, name, value text) of every object-like #define with a value."""
        out = []
        for node in self.find("preproc_def"):
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None and value is not None:
                out.append((node, self.text(name), self.text(value).strip()))
        return out


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

def parse_expression(text: str):
    """(Region, node) of a C expression given as text (a #define's value,
    which tree-sitter leaves unparsed); None when it is not one."""
    if len(text) > 2000 or "\n" in text.strip():
        return None
    sub = Region([f"long __v = {text};"], [0], frozenset())
    decl = sub.find("init_declarator")
    value = decl[0].child_by_field_name("value") if decl else None
    if value is None or value.has_error:
        return None
    return sub, value


def int_of_text(text: str, region=None, _depth: int = 0) -> int | None:
    """The value of a #define's text: a literal, or an expression when a
    region is given to parse it with."""
    value = int_literal(text.strip().strip("()").strip()) if text else None
    if value is not None or region is None:
        return value
    parsed = parse_expression(text)
    return parsed[0].int_value(parsed[1], region.defines(), _depth) if parsed else None
