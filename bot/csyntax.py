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
the #defines of the region, and the comments near a node. Every query is
linear in the size of the region (or cached), whatever the nesting.
"""
from __future__ import annotations

from functools import cached_property
from typing import Iterator, NamedTuple

from .lazyre import lazy_re

_PARSER = None
LOOP_TYPES = ("while_statement", "do_statement", "for_statement")


def parser():
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_c

        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_c.language()))
    return _PARSER


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
TRUTH_MACROS = frozenset({
    "likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "WARN", "WARN_ONCE", "BUG_ON",
    "KVM_BUG_ON", "TDX_BUG_ON", "TDX_BUG_ON_2", "TDX_BUG_ON_3", "VM_WARN_ON", "VM_BUG_ON",
    "WARN_ON_FUNCTION_MISMATCH",
})
_TRUTH_STATEMENTS = ("if_statement", "while_statement", "do_statement", "for_statement")
_ANNOTATION = lazy_re(r"\b(__init|__ref|__meminit|__init_or_module|noinstr|__always_inline|"
                      r"inline|static|__must_check|__cold|notrace|__flatten)\b")
_MUST_HOLD = lazy_re(r"\b__must_hold\s*\(\s*([^()]*(?:\([^()]*\))?[^()]*)\)")
_INT = lazy_re(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$")
_BIT_MACROS = {"BIT": 1, "BIT_ULL": 1, "_BITUL": 1, "_BITULL": 1, "BIT_U64": 1}


class Region:
    """Consecutive post-image lines, parsed as C."""

    def __init__(self, lines: list[str], numbers: list[int], added: frozenset[int]):
        self.lines = lines
        self.numbers = numbers  # post-image line number of each line
        self.added = added  # the post-image numbers this patch adds
        # One synthetic '/*' row goes first when the region starts mid-comment.
        self.offset = 1 if _starts_inside_comment(lines[:40]) else 0

    @cached_property
    def source(self) -> bytes:
        prefix = "/*\n" if self.offset else ""
        return (prefix + "\n".join(self.lines) + "\n").encode("utf-8", "surrogateescape")

    @cached_property
    def tree(self):
        return parser().parse(self.source)

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
        `within` when it is given."""
        found = []
        for t in types:
            found.extend(self._index.get(t, ()))
        if len(types) > 1:
            found.sort(key=lambda n: n.start_byte)
        if within is not None:
            from bisect import bisect_left

            lo, hi = within.start_byte, within.end_byte
            if len(types) == 1:  # sorted already: cut the slice out
                starts = self._starts(types[0])
                found = found[bisect_left(starts, lo):]
            found = [n for n in found if lo <= n.start_byte and n.end_byte <= hi]
        return found

    def _starts(self, node_type: str) -> list[int]:
        memo = self.__dict__.setdefault("_start_lists", {})
        if node_type not in memo:
            memo[node_type] = [n.start_byte for n in self._index.get(node_type, ())]
        return memo[node_type]

    def nodes(self, *types: str) -> Iterator:
        return iter(self.find(*types))

    # ---- expressions ------------------------------------------------------

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
            func = ancestor(parent, ("function_definition",))
            return func is not None and _is_bool_type(self.return_type(func) or "")
        if kind == "init_declarator":
            decl = parent.parent
            return decl is not None and decl.type == "declaration" \
                and _is_bool_type(declaration_type(self, decl) or "")
        if kind == "assignment_expression" and parent.child_by_field_name("right") == child \
                and self.op(parent) == "=":
            target = unwrap(parent.child_by_field_name("left"))
            if target is not None and target.type == "identifier":
                scope = ancestor(parent, ("function_definition",)) or self.root
                return _is_bool_type(self.declared_type(scope, self.text(target)) or "")
        return False

    # ---- declarations -----------------------------------------------------

    def declared_type(self, scope, name: str) -> str | None:
        """The declared type of a local, a parameter, a global of the region,
        or a struct field the region shows (for `p->field`, give 'field')."""
        if scope is not None:
            memo = self.__dict__.setdefault("_decl_types", {})
            key = (scope.start_byte, scope.end_byte)
            if key not in memo:
                memo[key] = self._declarations(scope)
            found = memo[key].get(name)
            if found is not None:
                return found
        return self._globals.get(name) or self._fields.get(name)

    def _declarations(self, scope) -> dict[str, str]:
        types: dict[str, str] = {}
        for decl in self.find("declaration", "parameter_declaration", within=scope):
            type_text = declaration_type(self, decl)
            if type_text is None:
                continue
            for d in decl.children_by_field_name("declarator"):
                if _inner_function(d) is not None:
                    continue  # a prototype, not a variable
                name = declared_name(d)
                if name is not None:
                    types.setdefault(name, type_text + (" *" if _declares_pointer(d) else ""))
        return types

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
    def _param_types(self) -> dict[str, list[str]]:
        """Parameter types of each function the region defines or declares."""
        out: dict[str, list[str]] = {}
        for declarator in self.find("function_declarator"):
            name = declared_name(declarator.child_by_field_name("declarator"))
            params = declarator.child_by_field_name("parameters")
            if name is None or params is None or name in out:
                continue
            types = []
            for p in params.named_children:
                if p.type == "parameter_declaration":
                    type_text = declaration_type(self, p) or ""
                    types.append(type_text + (" *" if _declares_pointer(p.child_by_field_name("declarator"))
                                              else ""))
                elif p.type == "variadic_parameter":
                    break
            out[name] = types
        return out

    def param_types(self, name: str) -> list[str] | None:
        """The parameter types of a function the region defines or declares."""
        return self._param_types.get(name)

    def function_type(self, name: str) -> str | None:
        """The return type of a function the region defines or declares."""
        return self._function_types.get(name)

    def return_type(self, func) -> str | None:
        tnode = func.child_by_field_name("type")
        if tnode is None:
            return None
        declarator = func.child_by_field_name("declarator")
        pointer = declarator is not None and declarator.type == "pointer_declarator"
        return self.text(tnode) + (" *" if pointer else "")

    # ---- functions --------------------------------------------------------

    def annotations(self, func) -> frozenset[str]:
        """Kernel annotations of a function definition: __init, noinstr,
        __always_inline, inline, static, ... (tree-sitter reads most of them
        as ERROR nodes, so they come from the text before the body)."""
        return frozenset(m.group(1) for m in _ANNOTATION.finditer(function_head(self, func)))

    def must_hold(self, func) -> list[str]:
        """The locks a function's __must_hold() annotations name."""
        return [m.group(1).strip() for m in _MUST_HOLD.finditer(function_head(self, func))]

    def whole_function(self, func) -> bool:
        """Is the whole function in sight, and parsed without errors?"""
        return func is not None and self.line_no(func.start_point[0]) is not None \
            and self.line_no(func.end_point[0]) is not None and not func.has_error

    def functions(self) -> list:
        return self.find("function_definition")

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


# ---- node helpers (no region needed) ----------------------------------------


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


def int_of_text(text: str, region: Region | None = None, _depth: int = 0) -> int | None:
    """The value of a #define's text: a literal, or an expression when a
    region is given to parse it with."""
    value = int_literal(text.strip().strip("()").strip()) if text else None
    if value is not None or region is None:
        return value
    parsed = parse_expression(text)
    return parsed[0].int_value(parsed[1], region.defines(), _depth) if parsed else None


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


def function_head(region: Region, func) -> str:
    """A function definition's text before its body: storage class, kernel
    annotations (which tree-sitter reads as ERROR nodes), type, declarator."""
    body = func.child_by_field_name("body")
    end = body.start_byte if body is not None else func.end_byte
    return region.source[func.start_byte:end].decode("utf-8", "replace")


def function_name(func) -> str | None:
    """The name a function definition defines."""
    return declared_name(func.child_by_field_name("declarator"))


def declared_name(declarator, kind: str = "identifier") -> str | None:
    """The identifier at the bottom of a declarator (`*p`, `a[4]`, `f(void)`)."""
    node = declarator
    while node is not None and node.type not in (kind, "identifier"):
        node = node.child_by_field_name("declarator")
    return node.text.decode("utf-8", "replace") if node is not None else None


def declaration_type(region: Region, decl) -> str | None:
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
