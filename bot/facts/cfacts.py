"""C facts a Region answers about its own code: operators, integer
constants, truth contexts, declared types, function annotations, #defines.
Every query is linear in the size of the region (or cached)."""
from __future__ import annotations

from bisect import bisect_right

from .cnodes import _declares_pointer, _inner_function, _is_bool_type, call_args, call_name, declaration_type, declared_name, function_head, function_name, int_literal, unwrap
from ..common.kept import cached_property
from ..common.lazyre import lazy_re

TRUTH_MACROS = frozenset({
    "likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "WARN", "WARN_ONCE", "BUG_ON",
    "KVM_BUG_ON", "TDX_BUG_ON", "TDX_BUG_ON_2", "TDX_BUG_ON_3", "VM_WARN_ON", "VM_BUG_ON",
    "WARN_ON_FUNCTION_MISMATCH",
})
_TRUTH_STATEMENTS = ("if_statement", "while_statement", "do_statement", "for_statement")
_ANNOTATION = lazy_re(r"\b(__init|__ref|__meminit|__init_or_module|noinstr|__always_inline|"
                      r"inline|static|__must_check|__cold|notrace|__flatten)\b")
_MUST_HOLD = lazy_re(r"\b__must_hold\s*\(\s*([^()]*(?:\([^()]*\))?[^()]*)\)")
_BIT_MACROS = {"BIT": 1, "BIT_ULL": 1, "_BITUL": 1, "_BITULL": 1, "BIT_U64": 1}



class CFacts:
    """Mixed into Region: what its code says, as C."""

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
        declares many names, and a rule asks about one or two."""
        wanted = name.encode("utf-8") if "\ufffd" not in name else b""
        source = self.source
        for decl in self.find("declaration", "parameter_declaration", within=scope):
            if wanted not in source[decl.start_byte:decl.end_byte]:
                continue
            type_text = declaration_type(self, decl)
            if type_text is None:
                continue
            for d in decl.children_by_field_name("declarator"):
                if _inner_function(d) is None and declared_name(d) == name:  # not a prototype
                    return type_text + (" *" if _declares_pointer(d) else "")
        return None

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
    def _declarators(self) -> dict[str, object]:
        """The first function declarator of each name the region defines or
        declares."""
        out: dict[str, object] = {}
        for declarator in self.find("function_declarator"):
            name = declared_name(declarator.child_by_field_name("declarator"))
            if name is not None and declarator.child_by_field_name("parameters") is not None:
                out.setdefault(name, declarator)
        return out

    def param_types(self, name: str) -> list[str] | None:
        """The parameter types of a function the region defines or declares
        (worked out for the names asked about: most are never called)."""
        memo = self.__dict__.setdefault("_param_memo", {})
        if name not in memo:
            declarator = self._declarators.get(name)
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
        from bisect import bisect_left

        starts, nodes = self._identifiers.get(name, ([], []))
        for i in range(bisect_left(starts, start), len(starts)):
            if starts[i] >= end:
                return
            ident = nodes[i]
            parent = ident.parent
            if parent is not None and parent.type == "assignment_expression" and \
                    parent.child_by_field_name("left") == ident and self.op(parent) == "=":
                continue
            yield ident

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


def parse_expression(text: str):
    """(Region, node) of a C expression given as text (a #define's value,
    which tree-sitter leaves unparsed); None when it is not one."""
    if len(text) > 2000 or "\n" in text.strip():
        return None
    from .csyntax import Region

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
