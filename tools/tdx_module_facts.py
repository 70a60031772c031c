#!/usr/bin/env python3
"""Extract ABI facts from Intel's public TDX module source (and, optionally,
a Linux kernel tree) into bot/facts/tdx_module.json.

Usage
-----
    python3 tools/tdx_module_facts.py MODULE [KERNEL] [-o OUT] [--rev REV]
    python3 tools/tdx_module_facts.py MODULE --fetch-kernel

MODULE is either a checkout of github.com/intel/tdx-module (a clone or a
`git worktree add` of it: the tool asks git for the commit) or the bare git
directory itself (then REV, default the newest tag, is unpacked into a
temporary folder with `git archive`). KERNEL is an unpacked Linux tree;
--fetch-kernel gets Debian's linux-source-6.12 through bench/linux_source.py
instead. --check compares the result with OUT and exits 1 when they differ.

The output holds facts only (names, numbers, lists of statuses and the names
of the module's functions they come through), never the module's code. Keys
are sorted and lists are sorted, so the same inputs give the same bytes.

What is read, and how
---------------------
* Leaves: the enums in the module's API header whose members start with TDH_
  (SEAMCALL, host) and TDG_ (TDCALL, guest), read with tree-sitter-c. The
  kernel-style name drops the module's `_LEAF` suffix; the spec name writes
  the underscores as dots. The encoding of RAX (leaf number bits, version
  bits) comes from the bit-fields of the module's leaf-and-version union.
  Leaves that only exist in debug builds (#ifdef DEBUGFEATURE_...) are left
  out: the module is read as a release build (see "Preprocessing").
* Statuses: every `#define NAME 0x...ULL` of the generated error-code header
  before its operand-ID section, with the bits the module's
  api_error_code_t gives names to (class 47:40, details 39:32, host
  recoverability hint 60, fatal 61, non-recoverable 62, error 63). Operand
  IDs (OPERAND_ID_*) are listed too. A module status whose name starts with
  TDX_ has the same kernel name; the others (TD_VMCS_FIELD_ERROR and the
  module's internal UNINITIALIZE_ERROR) have none.
* Handlers: the host and guest dispatchers are the functions holding the
  switch with the most TDH_ (TDG_) leaf labels; a case's handler is the
  module function whose result the case stores.
* Per leaf, statuses are collected from the C of the handler and of what it
  calls:
    - "direct": status constants the handler itself yields, counting the
      static functions of the handler's own file that it reaches (listed as
      "local_helpers"; e.g. tdg_vp_rd() is a thin wrapper around the file's
      static tdg_vp_rd_wr()).
    - "via_helper": statuses yielded by functions reached through calls,
      transitively, each with the shortest call chain (first helper ...
      function that yields it; ties broken by name) so a reader can check it.
      A status can be both direct and via a helper.
    - "td_exit" (guest leaves): statuses the leaf can hand to the TD-exit
      path (async_tdexit_*()). Those end the TD's run and reach the host VMM
      as the result of TDH.VP.ENTER; the guest never sees them.
    - "via_td_exit" (TDH_VP_ENTER only): every status any VM-exit or TDCALL
      path hands to async_tdexit_*(), with the functions that do it: these
      are results of TDH.VP.ENTER that no call chain from its handler shows.
    - "via_l2_exit" (TDG_VP_ENTER only): likewise for td_l2_to_l1_exit*(),
      the exits from an L2 VM back to the L1 TD's TDG.VP.ENTER.
    - "all": the union of direct, via_helper, via_td_exit and via_l2_exit
      (what the leaf's caller can get back; "td_exit" is not in it).
  TDX_SUCCESS is never listed (every leaf can return it), nor the module's
  UNINITIALIZE_ERROR sentinel.
* Dispatcher checks (once, globally): statuses the dispatchers produce
  before any handler runs, each with the leaves its guard names. "except"
  lists the leaves the check does not apply to (the guard compares the leaf
  with `!=`, or they are the other cases of a switch whose default yields
  the status); "only" the leaves it applies to; neither means every leaf.
  "unknown_leaf" marks the main switch's default. "translations" records
  statuses the dispatcher rewrites (`if (x == A) x = B`).
* max_version: a leaf accepts a non-zero version only when the dispatcher's
  version check names it; its highest version is then the smallest N of the
  `version > N` tests in the handler (and its local helpers) whose branch
  yields TDX_OPERAND_INVALID outright; null when no such test is found.
* Feature gating: a TDX_FEATURES0 bit that the module enumerates from a
  global flag (not a constant 1) gates a leaf when the leaf's handler tests
  that flag with `!` and yields a status. Only what is found this way is
  recorded.
* Kernel: every `#define TDH_*`, `TDG_*`, `TDX_*` and `TDVMCALL_*` of the
  kernel's TDX headers, evaluated (tree-sitter parses the value, this tool
  evaluates it with the kernel's BIT()/GENMASK() helpers). A TDX_* define is
  a status when its value is 64-bit (upper half not zero) or it is
  TDX_SUCCESS; TDX_OPERAND_ID_* are operand IDs, TDX_FEATURES0_* feature
  bits and TDX_VERSION_SHIFT the leaf's version field; other TDX_* defines
  (register masks, page sizes ...) are left out. "callers" maps a leaf to
  the kernel functions whose seamcall*/tdcall* call names it.

What is approximated
--------------------
* Statuses are found by where a status constant appears, not by data flow.
  A constant counts when it is returned, assigned or passed to a call (so
  the api_error_*() builders and helpers that take a status argument
  count); it does not count as an operand of a comparison or as a case
  label. A variable's initializer counts only when the function never
  assigns that variable again: a default like `ret = TDX_OPERAND_INVALID`
  followed by assignments is taken as overwritten, which is right for the
  handlers read by hand (tdg_vp_info, tdg_vp_veinfo_get, tdh_sys_update)
  but would miss a path that returns the default untouched. A status that
  reaches a leaf through a variable or a parameter is found where the
  constant is written, in whatever function that is; statuses computed at
  run time are not found at all.
* Calls are followed when their result can flow on: it is assigned,
  returned, used as an initializer or passed as an argument. A call whose
  result is only tested (a condition, a comparison, `!`) is not followed,
  nor is a non-void call used as a bare statement; calls to void functions
  are always followed (they may write RAX or leave the module), and so are
  calls to functions that take a pointer to a status (they may write the
  caller's result through it, as tdh_import_mem.c's MAC check does). Calls
  through function pointers and macros are not followed.
* The analysis is path-insensitive. A helper's statuses count for every
  caller even when the caller's arguments rule some out; for example,
  TDX_OPERAND_BUSY_HOST_PRIORITY comes from the host-priority lock helpers
  only when called for a guest, but host leaves that take those locks list
  it too. The guest dispatcher then turns it into TDX_OPERAND_BUSY (see
  dispatcher "translations"), so no caller ever sees it.
* Helpers that check a leaf number they are given (op-state and SEPT-state
  tables) contribute their statuses to every leaf that calls them.
* A function whose body tree-sitter cannot fully parse (a construct it
  does not know, left after preprocessing) may hide statuses. Each leaf
  lists as "unread" the functions it reaches (the handler, its local
  helpers and every followed call) that have such a body; a leaf with
  none has lists as complete as this reading makes them.
* Preprocessing: the module is read as a release build. `#if`/`#ifdef`
  blocks on DEBUGFEATURE_* or DEBUG are dropped, `#if 0` is dropped,
  numeric conditions on the module's own #defines are evaluated; any other
  condition keeps its first branch. A handful of the module's keyword macros
  (_STATIC_INLINE_, _ASM_VOLATILE_, _ASM_, IF_RARE, IF_COMMON, ALIGN(n))
  are written out so tree-sitter sees plain C.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field

SCHEMA = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "bot", "facts", "tdx_module.json")
MODULE_URL = "https://github.com/intel/tdx-module"

# The kernel headers that hold leaf numbers and status codes, in the order a
# name defined twice is taken from (later files do not override earlier).
KERNEL_HEADERS = (
    "arch/x86/include/asm/shared/tdx_errno.h",
    "arch/x86/include/asm/shared/tdx.h",
    "arch/x86/include/asm/tdx.h",
    "arch/x86/virt/vmx/tdx/tdx.h",
    "arch/x86/kvm/vmx/tdx_errno.h",
    "arch/x86/kvm/vmx/tdx_arch.h",
)
# Headers only read for the values other defines use (X86_TRAP_GP ...).
KERNEL_SUPPORT_HEADERS = ("arch/x86/include/asm/trapnr.h",)
# Folders whose C issues SEAMCALLs and TDCALLs.
KERNEL_CALLER_DIRS = ("arch/x86/virt/vmx/tdx", "arch/x86/coco/tdx", "arch/x86/kvm/vmx")
KERNEL_CACHE_NAME = "linux-source-6.12-tdx-facts"
KERNEL_PACKAGE = "linux-source-6.12"


def kernel_wanted(rel: str) -> bool:
    """The members of the kernel tarball this tool and its test read."""
    return (rel == "Makefile" or rel in KERNEL_SUPPORT_HEADERS
            or (rel.startswith("arch/x86/") and "tdx" in rel and rel.endswith((".c", ".h"))))


def fetch_kernel() -> str:
    """Debian's linux-source-6.12 (only the files kernel_wanted() keeps),
    downloaded once by bench/linux_source.py into its cache."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        import linux_source
    finally:
        sys.path.pop(0)
    return linux_source.fetch(KERNEL_CACHE_NAME, kernel_wanted)


# ---------------------------------------------------------------------------
# tree-sitter plumbing

_PARSER = None


def c_parser():
    """A tree-sitter parser for C, built the way bot/csyntax.py builds its
    own (tools/ does not import the bot package)."""
    global _PARSER
    if _PARSER is None:
        import tree_sitter
        import tree_sitter_c

        _PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_c.language()))
    return _PARSER


def walk(node, types=None):
    """node and its descendants (of the given types), in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if types is None or n.type in types:
            yield n
        stack.extend(reversed(n.children))


def text(node) -> str:
    return node.text.decode("utf-8", "replace")


def unparen(node):
    while node is not None and node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


def call_name(call) -> str | None:
    fn = unparen(call.child_by_field_name("function"))
    return text(fn) if fn is not None and fn.type == "identifier" else None


def declarator_name(decl) -> str | None:
    """The identifier a (function, pointer, array ...) declarator declares."""
    while decl is not None:
        if decl.type in ("identifier", "field_identifier", "type_identifier"):
            return text(decl)
        nxt = decl.child_by_field_name("declarator")
        if nxt is None:
            idents = [c for c in decl.named_children if c.type == "identifier"]
            return text(idents[0]) if idents else None
        decl = nxt
    return None


def int_value(literal: str) -> int | None:
    m = re.fullmatch(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)[uUlL]*", literal.strip())
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


COMPARISONS = {"==", "!=", "<", ">", "<=", ">="}
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------
# Preprocessing the module's C

_KEYWORD_MACROS = [
    (re.compile(rb"\b_STATIC_INLINE_\b"), b"static inline"),
    (re.compile(rb"\b_ASM_VOLATILE_\b"), b"asm volatile"),
    (re.compile(rb"\b_ASM_\b"), b"asm"),
    (re.compile(rb"\bIF_RARE\b"), b"if"),
    (re.compile(rb"\bIF_COMMON\b"), b"if"),
    (re.compile(rb"\bALIGN\(\s*\w+\s*\)"), b""),
]
_COND = re.compile(rb"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")
_NUMERIC_DEFINE = re.compile(rb"^\s*#\s*define\s+([A-Za-z_]\w*)\s+\(?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)?"
                             rb"\s*(?://.*|/\*.*)?$", re.M)


def _undefined_by_release(name: str) -> bool:
    return name.startswith("DEBUGFEATURE_") or name == "DEBUG"


def _condition(kind: str, rest: str, numbers: dict[str, int]) -> bool:
    """Whether a conditional's first branch is compiled in a release build;
    True when this tool cannot tell (see the docstring)."""
    rest = re.sub(r"//.*|/\*.*?\*/", "", rest).strip()
    if kind in ("ifdef", "ifndef"):
        name = rest.split()[0] if rest.split() else ""
        if _undefined_by_release(name):
            return kind == "ifndef"
        return True
    expr = rest
    unknown = False

    def defined(m):
        nonlocal unknown
        name = m.group(1) or m.group(2)
        if _undefined_by_release(name):
            return "0"
        unknown = True
        return "1"

    expr = re.sub(r"\bdefined\s*\(\s*(\w+)\s*\)|\bdefined\s+(\w+)", defined, expr)

    def ident(m):
        nonlocal unknown
        word = m.group(0)
        if word in numbers:
            return str(numbers[word])
        unknown = True
        return "0"

    expr = re.sub(r"\b[A-Za-z_]\w*\b", ident, expr)
    expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr)
    if unknown:
        return True
    expr = expr.replace("&&", " and ").replace("||", " or ")
    expr = re.sub(r"!(?!=)", " not ", expr)
    if not re.fullmatch(r"[\s\d()xXa-fA-F+\-*/%<>=!andortx]*", expr):
        return True
    try:
        return bool(eval(expr, {"__builtins__": {}}, {}))  # digits and operators only
    except Exception:
        return True


def preprocess(src: bytes, numbers: dict[str, int]) -> bytes:
    """src with the conditional blocks a release build drops blanked out
    (newlines kept, so line numbers stay), and the keyword macros written
    out."""
    lines = src.split(b"\n")
    out = []
    # stack of [parent_active, taken, active]
    stack: list[list[bool]] = []
    active = True
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _COND.match(line)
        if m:
            # a directive continued on following lines is read as one
            full = [line]
            while full[-1].rstrip().endswith(b"\\") and i + 1 < len(lines):
                i += 1
                full.append(lines[i])
            kind = m.group(1).decode()
            rest = b" ".join(x.rstrip(b"\\") for x in [m.group(2)] + full[1:]).decode("utf-8", "replace")
            if kind in ("if", "ifdef", "ifndef"):
                cond = _condition(kind, rest, numbers) if active else False
                stack.append([active, cond, active and cond])
            elif kind == "elif" and stack:
                parent, taken, _ = stack[-1]
                cond = (not taken) and parent and _condition("if", rest, numbers)
                stack[-1] = [parent, taken or cond, cond]
            elif kind == "else" and stack:
                parent, taken, _ = stack[-1]
                stack[-1] = [parent, True, parent and not taken]
            elif kind == "endif" and stack:
                stack.pop()
            active = stack[-1][2] if stack else True
            out.extend(b"" for _ in full)
        else:
            out.append(line if active else b"")
        i += 1
    data = b"\n".join(out)
    for pattern, repl in _KEYWORD_MACROS:
        data = pattern.sub(repl, data)
    return data


# ---------------------------------------------------------------------------
# The module's functions

@dataclass(eq=False)
class Func:
    name: str
    file: str            # path relative to the module root
    static: bool
    void: bool
    node: object
    params: list[str]
    status_out: bool     # takes a pointer to a status (writes a result there)
    unparsed: bool = False   # tree-sitter could not read all of its body
    produced: set[str] = field(default_factory=set)
    sinks: dict[str, set[str]] = field(default_factory=dict)   # sink kind -> statuses
    edges: set[str] = field(default_factory=set)


# A call whose name starts with one of these leaves the module's current
# context: async_tdexit_*() ends the TD's run and reports the status to the
# host VMM (as TDH.VP.ENTER's result); td_l2_to_l1_exit*() reports it to the
# L1 TD (as TDG.VP.ENTER's result). Statuses passed to them are recorded
# apart, and the calls are not followed.
SINKS = {"async_tdexit": ("TDH_VP_ENTER", "via_td_exit"),
         "td_l2_to_l1_exit": ("TDG_VP_ENTER", "via_l2_exit")}
ASSERTS = {"tdx_sanity_check", "tdx_debug_assert", "tdx_static_assert"}
# The module's types for a status value.
STATUS_TYPES = {"api_error_type", "api_error_code_e"}


def sink_kind(name: str | None) -> str | None:
    if not name:
        return None
    for prefix in SINKS:
        if name.startswith(prefix):
            return prefix
    return None


class Module:
    def __init__(self, root: str):
        self.root = root
        self.files: dict[str, bytes] = {}
        self.trees: dict[str, object] = {}
        self.funcs: dict[str, list[Func]] = {}
        self.parse_errors = 0
        self._load()

    # -- loading ------------------------------------------------------------
    def _sources(self):
        for top in ("include", "src"):
            base = os.path.join(self.root, top)
            for dirpath, dirs, names in os.walk(base):
                dirs.sort()
                for name in sorted(names):
                    if name.endswith((".c", ".h")):
                        path = os.path.join(dirpath, name)
                        yield os.path.relpath(path, self.root).replace(os.sep, "/"), path

    def _load(self):
        raw = {rel: open(path, "rb").read() for rel, path in self._sources()}
        numbers: dict[str, int] = {}
        for data in raw.values():
            for m in _NUMERIC_DEFINE.finditer(data):
                numbers.setdefault(m.group(1).decode(), int_value(m.group(2).decode()) or 0)
        parser = c_parser()
        for rel, data in raw.items():
            data = preprocess(data, numbers)
            self.files[rel] = data
            tree = parser.parse(data)
            self.trees[rel] = tree
            for n in walk(tree.root_node):
                if n.type == "ERROR" or n.is_missing:
                    self.parse_errors += 1
            for fn in walk(tree.root_node, {"function_definition"}):
                f = self._func(rel, fn)
                if f:
                    self.funcs.setdefault(f.name, []).append(f)

    def _func(self, rel, node) -> Func | None:
        decl = node.child_by_field_name("declarator")
        fdecl = decl
        pointer = False
        while fdecl is not None and fdecl.type != "function_declarator":
            if fdecl.type == "pointer_declarator":
                pointer = True
            fdecl = fdecl.child_by_field_name("declarator")
        if fdecl is None:
            return None
        name = declarator_name(fdecl.child_by_field_name("declarator"))
        if not name:
            return None
        rtype = node.child_by_field_name("type")
        static = any(c.type == "storage_class_specifier" and text(c) == "static" for c in node.children)
        params = []
        status_out = False
        plist = fdecl.child_by_field_name("parameters")
        if plist is not None:
            for p in plist.named_children:
                if p.type == "parameter_declaration":
                    pdecl = p.child_by_field_name("declarator")
                    params.append(declarator_name(pdecl) or "")
                    ptype = p.child_by_field_name("type")
                    if (pdecl is not None and pdecl.type == "pointer_declarator" and ptype is not None
                            and text(ptype) in STATUS_TYPES):
                        status_out = True
        return Func(name=name, file=rel, static=static,
                    void=(rtype is not None and text(rtype) == "void" and not pointer),
                    node=node, params=params, status_out=status_out,
                    unparsed=body_has_errors(node))

    def resolve(self, name: str, from_file: str) -> list[Func]:
        """The definitions a call of name from from_file can reach: one in
        the same file first, else those visible from other files."""
        defs = self.funcs.get(name, [])
        same = [f for f in defs if f.file == from_file]
        if same:
            return same
        return [f for f in defs if not (f.static and f.file.endswith(".c"))]

    # -- per-function summaries ---------------------------------------------
    def summarize(self, statuses: set[str]):
        for defs in self.funcs.values():
            for f in defs:
                self._summarize(f, statuses)

    def _summarize(self, f: Func, statuses: set[str]):
        body = f.node.child_by_field_name("body")
        if body is None:
            return
        for ident in walk(body, {"identifier"}):
            name = text(ident)
            if name not in statuses:
                continue
            use = status_use(ident, body)
            if use == "value":
                f.produced.add(name)
            elif use and use.startswith("sink:"):
                f.sinks.setdefault(use[5:], set()).add(name)
        for call in walk(body, {"call_expression"}):
            name = call_name(call)
            if not name or name in ASSERTS or sink_kind(name):
                continue
            targets = self.resolve(name, f.file)
            if not targets:
                continue
            if all(t.void for t in targets) or any(t.status_out for t in targets) \
                    or result_flows(call, body):
                f.edges.add(name)


def body_has_errors(node) -> bool:
    """Whether tree-sitter left an ERROR or missing node in a function's
    body (whatever is inside it may hide a status)."""
    body = node.child_by_field_name("body")
    return body is not None and body.has_error


def reached(module: Module, start: list[Func]) -> list[Func]:
    """The start functions and every function their followed calls reach."""
    seen = {(f.name, f.file): f for f in start}
    todo = list(start)
    while todo:
        f = todo.pop()
        for name in sorted(f.edges):
            for t in module.resolve(name, f.file):
                if (t.name, t.file) not in seen:
                    seen[(t.name, t.file)] = t
                    todo.append(t)
    return list(seen.values())


def status_use(ident, body) -> str | None:
    """How a status constant is used: "value" when it is yielded, "sink:K"
    when it is handed to a sink call of kind K, None when it is only
    compared with, a case label, or inside an assertion."""
    node = ident
    while node is not None and node != body:
        parent = node.parent
        if parent is None:
            break
        if parent.type == "binary_expression":
            op = parent.child_by_field_name("operator")
            if op is not None and op.type in COMPARISONS:
                return None
        if parent.type == "case_statement" and parent.child_by_field_name("value") == node:
            return None
        if parent.type == "init_declarator" and parent.child_by_field_name("value") == node:
            # a default the function assigns again is taken as overwritten
            var = declarator_name(parent.child_by_field_name("declarator"))
            for a in walk(body, {"assignment_expression"}):
                left = a.child_by_field_name("left")
                if left is not None and left.type == "identifier" and text(left) == var:
                    return None
        if parent.type == "call_expression" and node.type == "argument_list":
            name = call_name(parent)
            if name in ASSERTS:
                return None
            kind = sink_kind(name)
            if kind:
                return "sink:" + kind
        node = parent
    return "value"


def result_flows(call, body) -> bool:
    """Whether a call's result can flow on (assigned, returned, an
    initializer or an argument) rather than be dropped or only tested."""
    node = call
    while True:
        parent = node.parent
        if parent is None or node == body:
            return False
        t = parent.type
        if t in ("parenthesized_expression", "field_expression", "subscript_expression"):
            node = parent
            continue
        if t == "cast_expression":
            ty = parent.child_by_field_name("type")
            if ty is not None and text(ty).strip() == "void":
                return False
            node = parent
            continue
        if t == "conditional_expression":
            if parent.child_by_field_name("condition") == node:
                return False
            node = parent
            continue
        if t == "assignment_expression":
            return parent.child_by_field_name("right") == node
        if t in ("return_statement", "init_declarator", "argument_list", "initializer_list",
                 "initializer_pair"):
            return True
        if t == "comma_expression":
            node = parent
            continue
        return False


# ---------------------------------------------------------------------------
# Module facts

_STATUS_LINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)\s+(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", re.M)


def find_file(module: Module, pattern: str, must_contain: bytes) -> str:
    rx = re.compile(pattern)
    hits = [rel for rel in sorted(module.files) if rx.search(rel) and must_contain in module.files[rel]]
    if not hits:
        raise SystemExit(f"no file like {pattern} holding {must_contain!r} under {module.root}")
    return hits[0]


def read_statuses(module: Module) -> tuple[str, dict, dict, dict]:
    rel = find_file(module, r"include/auto_gen\w*/tdx_error_codes_defs\.h$", b"TDX_OPERAND_BUSY")
    src = open(os.path.join(module.root, rel), encoding="utf-8", errors="replace").read()
    statuses, operands = {}, {}
    for m in _STATUS_LINE.finditer(src):
        name, value = m.group(1), int_value(m.group(2))
        if name.startswith("OPERAND_ID_"):
            operands[name] = value
        elif not name.startswith("_"):
            statuses[name] = value
    origin = {}
    m = re.search(r'architecture commit id\s+"([0-9a-fA-F]+)"', src)
    if m:
        origin["architecture_commit"] = m.group(1)
    m = re.search(r"Spreadsheet Format Version\s*-\s*'(\w+)'", src)
    if m:
        origin["format_version"] = m.group(1)
    return rel, statuses, operands, origin


_TYPE_BITS = {"uint8_t": 8, "uint16_t": 16, "uint32_t": 32, "uint64_t": 64, "int8_t": 8,
              "int16_t": 16, "int32_t": 32, "int64_t": 64, "bool_t": 8}


def _layout(spec, base: int, out: dict[str, tuple[int, int]]) -> int | None:
    """Lay out the members of a struct or union specifier from bit base,
    recording each named bit-field or scalar as (low bit, high bit) in out
    (members of anonymous structs and unions are flattened). Returns the
    size in bits, or None when a member's size is unknown."""
    flist = spec.child_by_field_name("body")
    if flist is None:
        return None
    is_union = spec.type == "union_specifier"
    offset = 0
    size = 0
    for fd in flist.named_children:
        if fd.type != "field_declaration":
            continue
        ty = fd.child_by_field_name("type")
        if ty is not None and ty.type in ("struct_specifier", "union_specifier"):
            width = _layout(ty, base + (0 if is_union else offset), out)
            if width is None:
                return None
            widths = [width]
        else:
            unit = _TYPE_BITS.get(text(ty)) if ty is not None else None
            names = [c for c in fd.named_children if c.type == "field_identifier"]
            bits = [c for c in fd.named_children if c.type == "bitfield_clause"]
            widths = []
            for i, n in enumerate(names):
                width = int_value(text(bits[i].named_children[0])) if bits else unit
                if width is None:
                    return None
                lo = base + (0 if is_union else offset + sum(widths))
                out.setdefault(text(n), (lo, lo + width - 1))
                widths.append(width)
            if not names:
                return None
        if is_union:
            size = max(size, max(widths))
        else:
            offset += sum(widths)
            size = offset
    return size


def bitfields(module: Module, type_name: str) -> tuple[str, dict[str, tuple[int, int]]]:
    """The named fields (low bit, high bit) of the typedef'd struct or
    union called type_name."""
    for rel in sorted(module.trees):
        if type_name.encode() not in module.files[rel]:
            continue
        for td in walk(module.trees[rel].root_node, {"type_definition"}):
            decl = td.child_by_field_name("declarator")
            if decl is None or declarator_name(decl) != type_name:
                continue
            spec = td.child_by_field_name("type")
            fields: dict[str, tuple[int, int]] = {}
            if spec is not None and _layout(spec, 0, fields) is not None:
                return rel, fields
    return "", {}


def read_leaves(module: Module) -> tuple[str, dict[str, dict]]:
    rel = find_file(module, r"include/tdx_api_defs\.h$|include/.*api.*\.h$", b"TDH_MNG_CREATE")
    leaves = {}
    for enum in walk(module.trees[rel].root_node, {"enumerator_list"}):
        members = []
        for e in enum.named_children:
            if e.type != "enumerator":
                continue
            name = text(e.child_by_field_name("name"))
            value_node = e.child_by_field_name("value")
            value = int_value(text(value_node)) if value_node is not None else None
            members.append((name, value))
        kinds = {n[:4] for n, _ in members}
        if kinds == {"TDH_"} or kinds == {"TDG_"}:
            kind = "host" if kinds == {"TDH_"} else "guest"
            for name, value in members:
                if value is None:
                    raise SystemExit(f"leaf {name} has no literal number")
                kernel = re.sub(r"_LEAF$", "", name)
                leaves[kernel] = {"module_name": name, "number": value, "kind": kind,
                                  "spec_name": kernel.replace("_", ".")}
    return rel, leaves


def find_dispatcher(module: Module, leaf_names: set[str]) -> tuple[Func, object]:
    """The function holding the switch with the most of leaf_names as case
    labels, and that switch."""
    best = None
    for defs in module.funcs.values():
        for f in defs:
            for sw in walk(f.node, {"switch_statement"}):
                labels = sum(1 for c in case_labels(sw) if c in leaf_names)
                if best is None or labels > best[0]:
                    best = (labels, f, sw)
    if not best or best[0] == 0:
        raise SystemExit("no dispatcher found")
    return best[1], best[2]


def switch_cases(sw):
    body = sw.child_by_field_name("body")
    return [c for c in body.named_children if c.type == "case_statement"] if body else []


def case_labels(sw) -> list[str]:
    out = []
    for case in switch_cases(sw):
        value = case.child_by_field_name("value")
        if value is not None:
            out.append(text(value))
    return out


def dispatch_table(module: Module, dispatcher: Func, sw, module_names: dict[str, str]):
    """module leaf name -> (handler Func, argument texts), from the
    dispatcher's main switch; cases falling through share the next body."""
    table = {}
    pending: list[str] = []
    for case in switch_cases(sw):
        value = case.child_by_field_name("value")
        if value is not None and text(value) in module_names:
            pending.append(text(value))
        stmts = [c for c in case.named_children if c != value]
        calls = [c for s in stmts for c in walk(s, {"call_expression"})]
        handler = None
        for call in calls:
            name = call_name(call)
            if not name or name in ASSERTS:
                continue
            targets = module.resolve(name, dispatcher.file)
            if targets and result_flows(call, dispatcher.node):
                args = call.child_by_field_name("arguments")
                handler = (targets[0], [text(a) for a in args.named_children] if args else [])
                break
        if handler and pending:
            for label in pending:
                table[label] = handler
            pending = []
        elif stmts and not handler:
            pending = []
    return table


def local_set(module: Module, handler: Func) -> list[Func]:
    """The handler and the static functions of its file it reaches."""
    seen = {handler.name: handler}
    todo = [handler]
    while todo:
        f = todo.pop()
        for name in sorted(f.edges):
            for t in module.resolve(name, f.file):
                if t.file == handler.file and t.static and t.name not in seen:
                    seen[t.name] = t
                    todo.append(t)
    return [handler] + sorted((f for f in seen.values() if f is not handler), key=lambda f: f.name)


def reach(module: Module, start: list[Func]) -> tuple[dict[str, list[str]], dict[str, dict[str, list[str]]]]:
    """Breadth-first over calls from the start functions: status -> the
    shortest chain of functions it comes through, for yielded statuses and
    per sink kind."""
    via: dict[str, list[str]] = {}
    sinks: dict[str, dict[str, list[str]]] = {}
    seen = {(f.name, f.file) for f in start}
    frontier = [(f, []) for f in start]
    while frontier:
        nxt = []
        for f, chain in frontier:
            if chain:
                for s in sorted(f.produced):
                    via.setdefault(s, chain)
            if chain:
                for kind, ss in f.sinks.items():
                    for s in sorted(ss):
                        sinks.setdefault(kind, {}).setdefault(s, chain)
            for name in sorted(f.edges):
                for t in sorted(module.resolve(name, f.file), key=lambda t: t.file):
                    key = (t.name, t.file)
                    if key not in seen:
                        seen.add(key)
                        nxt.append((t, chain + [t.name]))
        frontier = nxt
    return via, sinks


def guard_facts(node, root, leaf_names: set[str], main_switch, version_field: str):
    """Leaves named by the guards around node, up to root: (except, only,
    mentions_version, in_main_default)."""
    except_, only = set(), set()
    version = False
    main_default = False
    child = node
    cur = node.parent
    while cur is not None and child != root:
        if cur.type == "if_statement":
            cond = cur.child_by_field_name("condition")
            if cond is not None and child != cond:
                for ident in walk(cond, {"identifier"}):
                    name = text(ident)
                    if name in leaf_names:
                        op = ident.parent
                        while op is not None and op.type == "parenthesized_expression":
                            op = op.parent
                        opt = (op.child_by_field_name("operator")
                               if op is not None and op.type == "binary_expression" else None)
                        (except_ if opt is not None and opt.type == "!=" else only).add(name)
                for fid in walk(cond, {"field_identifier"}):
                    if text(fid) == version_field:
                        version = True
        if cur.type == "case_statement" and cur.child_by_field_name("value") is None:
            sw = cur.parent.parent if cur.parent is not None else None
            if sw is not None and sw.type == "switch_statement":
                if sw == main_switch:
                    main_default = True
                else:
                    except_.update(c for c in case_labels(sw) if c in leaf_names)
        child = cur
        cur = cur.parent
    return except_, only, version, main_default


def dispatcher_facts(module, dispatcher: Func, sw, statuses: set[str], leaf_names: dict[str, str],
                     version_field: str):
    checks = set()
    translations = set()
    body = dispatcher.node.child_by_field_name("body")
    for ident in walk(body, {"identifier"}):
        name = text(ident)
        if name not in statuses:
            continue
        use = status_use(ident, body)
        if use is None:
            continue
        exc, only, version, default = guard_facts(ident, body, set(leaf_names), sw, version_field)
        checks.add((name, use, tuple(sorted(leaf_names[x] for x in exc)),
                    tuple(sorted(leaf_names[x] for x in only)), version, default))
        # `if (x == A) { ... x = B; }`: the dispatcher turns A into B
        cur = ident.parent
        while cur is not None and cur != body:
            if cur.type == "if_statement":
                cond = cur.child_by_field_name("condition")
                for b in walk(cond, {"binary_expression"}):
                    op = b.child_by_field_name("operator")
                    if op is not None and op.type == "==":
                        for side in ("left", "right"):
                            s = unparen(b.child_by_field_name(side))
                            if s is not None and s.type == "identifier" and text(s) in statuses \
                                    and text(s) != name:
                                translations.add((text(s), name))
                break
            cur = cur.parent
    out = []
    for name, use, exc, only, version, default in sorted(checks):
        item = {"status": name}
        if use.startswith("sink:"):
            item["via"] = "td_exit"
        if exc:
            item["except"] = list(exc)
        if only:
            item["only"] = list(only)
        if version:
            item["version_check"] = True
        if default:
            item["unknown_leaf"] = True
        out.append(item)
    return out, [{"from": a, "to": b} for a, b in sorted(translations)]


def yields_flat(block, status: str) -> bool:
    """Whether block yields status outside any nested condition or loop."""
    stack = list(block.children)
    while stack:
        n = stack.pop()
        if n.type in ("if_statement", "for_statement", "while_statement", "do_statement",
                      "switch_statement"):
            continue
        if n.type == "identifier" and text(n) == status and status_use(n, block) == "value":
            return True
        stack.extend(n.children)
    return False


def max_version_of(funcs: list[Func], param: str, statuses: set[str]) -> int | None:
    """The smallest N of the `param > N` conditions whose branch yields
    TDX_OPERAND_INVALID unconditionally."""
    best = None
    for f in funcs:
        for ifs in walk(f.node, {"if_statement"}):
            cond = ifs.child_by_field_name("condition")
            cons = ifs.child_by_field_name("consequence")
            if cond is None or cons is None:
                continue
            if not yields_flat(cons, "TDX_OPERAND_INVALID"):
                continue
            for b in walk(cond, {"binary_expression"}):
                op = b.child_by_field_name("operator")
                left = unparen(b.child_by_field_name("left"))
                right = unparen(b.child_by_field_name("right"))
                if (op is not None and op.type == ">" and left is not None and right is not None
                        and left.type == "identifier" and text(left) == param
                        and right.type == "number_literal"):
                    n = int_value(text(right))
                    if n is not None and (best is None or n < best):
                        best = n
    return best


def feature_flags(module: Module, feature_fields: dict[str, tuple[int, int]], feature_type: str):
    """feature field -> the global flag the module enumerates it from, for
    the bits not set from a constant."""
    flags = {}
    for defs in module.funcs.values():
        for f in defs:
            if feature_type.encode() not in module.files[f.file]:
                continue
            typed = set()
            for d in walk(f.node, {"declaration"}):
                ty = d.child_by_field_name("type")
                if ty is not None and text(ty) == feature_type:
                    for decl in d.children_by_field_name("declarator"):
                        n = declarator_name(decl)
                        if n:
                            typed.add(n)
            if not typed:
                continue
            for a in walk(f.node, {"assignment_expression"}):
                left = a.child_by_field_name("left")
                right = unparen(a.child_by_field_name("right"))
                if left is None or left.type != "field_expression" or right is None:
                    continue
                obj = left.child_by_field_name("argument")
                fld = left.child_by_field_name("field")
                if obj is None or fld is None or text(obj) not in typed or text(fld) not in feature_fields:
                    continue
                if right.type == "number_literal":
                    continue
                last = [text(x) for x in walk(right, {"field_identifier", "identifier"})]
                if last:
                    flags[text(fld)] = last[-1]
    return flags


def gating(funcs: list[Func], flags: dict[str, str], statuses: set[str]) -> list[tuple[str, str, list[str]]]:
    """(feature field, flag, statuses) for `if (!...flag)` tests in funcs
    whose branch yields a status."""
    out = []
    by_flag = {v: k for k, v in flags.items()}
    for f in funcs:
        for ifs in walk(f.node, {"if_statement"}):
            cond = ifs.child_by_field_name("condition")
            cons = ifs.child_by_field_name("consequence")
            if cond is None or cons is None:
                continue
            for u in walk(cond, {"unary_expression"}):
                op = u.child_by_field_name("operator")
                arg = unparen(u.child_by_field_name("argument"))
                if op is None or op.type != "!" or arg is None:
                    continue
                names = [text(x) for x in walk(arg, {"field_identifier", "identifier"})]
                hit = [n for n in names if n in by_flag]
                if not hit:
                    continue
                yielded = sorted({text(i) for i in walk(cons, {"identifier"})
                                  if text(i) in statuses and status_use(i, cons) == "value"})
                if yielded:
                    out.append((by_flag[hit[-1]], hit[-1], yielded))
    return out


def module_facts(module: Module) -> dict:
    errors_rel, status_values, operand_ids, origin = read_statuses(module)
    countable = {n for n in status_values if n not in ("TDX_SUCCESS", "UNINITIALIZE_ERROR")}
    module.summarize(countable)
    leaves_rel, leaves = read_leaves(module)

    enc_rel, encoding = bitfields(module, "tdx_leaf_and_version_t")
    version_field = "version" if "version" in encoding else ""
    _, err_bits = bitfields(module, "api_error_code_t")

    statuses = {}
    for name, value in status_values.items():
        item = {"value": "0x%016X" % value, "kernel_name": name if name.startswith("TDX_") else None}
        for fname, (lo, hi) in err_bits.items():
            if fname in ("operand", "details_l2", "details_l2_low", "details_l2_high", "reserved", "raw"):
                continue
            bits = (value >> lo) & ((1 << (hi - lo + 1)) - 1)
            key = {"clas": "class"}.get(fname, fname)
            item[key] = bool(bits) if hi == lo else bits
        if name == "UNINITIALIZE_ERROR":
            item["internal"] = True
        statuses[name] = item

    feat_rel, feat_fields = bitfields(module, "tdx_features_enum0_t")
    flags = feature_flags(module, feat_fields, "tdx_features_enum0_t") if feat_fields else {}

    dispatchers = {}
    td_exit_all: dict[str, dict[str, set[str]]] = {}
    for defs in module.funcs.values():
        for f in defs:
            for kind, ss in f.sinks.items():
                for s in ss:
                    td_exit_all.setdefault(kind, {}).setdefault(s, set()).add(f.name)

    for kind in ("host", "guest"):
        names = {v["module_name"]: k for k, v in leaves.items() if v["kind"] == kind}
        disp, sw = find_dispatcher(module, set(names))
        table = dispatch_table(module, disp, sw, names)
        checks, translations = dispatcher_facts(module, disp, sw, countable, names, version_field)
        versioned = sorted({x for c in checks if c.get("version_check") for x in c.get("except", [])})
        dispatchers[kind] = {"function": disp.name, "file": disp.file, "checks": checks,
                             "translations": translations,
                             "statuses": sorted({c["status"] for c in checks if "via" not in c}),
                             "versioned_leaves": versioned}
        for mname, knames in names.items():
            leaf = leaves[knames]
            if mname not in table:
                leaf["handler"] = None
                continue
            handler, args = table[mname]
            funcs = local_set(module, handler)
            direct = set().union(*(f.produced for f in funcs))
            via, sinks = reach(module, funcs)
            for f in funcs:
                for sk, ss in f.sinks.items():
                    for s in ss:
                        sinks.setdefault(sk, {}).setdefault(s, [f.name])
            leaf["handler"] = handler.name
            leaf["handler_file"] = handler.file
            leaf["local_helpers"] = [f.name for f in funcs[1:]]
            leaf["unread"] = sorted({f.name for f in reached(module, funcs) if f.unparsed})
            leaf["direct"] = sorted(direct)
            leaf["via_helper"] = {s: c for s, c in sorted(via.items())}
            leaf["all"] = sorted(direct | set(via))
            if sinks.get("async_tdexit") and kind == "guest":
                leaf["td_exit"] = {s: c for s, c in sorted(sinks["async_tdexit"].items())}
            # the version the leaf accepts
            if knames in versioned:
                param = None
                for i, a in enumerate(args):
                    if re.search(r"\.\s*%s\b" % re.escape(version_field), a) and i < len(handler.params):
                        param = handler.params[i]
                leaf["max_version"] = max_version_of(funcs, param, countable) if param else None
            else:
                leaf["max_version"] = 0
            gates = gating(funcs, flags, countable)
            if gates:
                ffield, flag, yielded = sorted(gates)[0]
                lo, hi = feat_fields[ffield]
                leaf["feature_gate"] = {"feature": "TDX_FEATURES0." + ffield.upper(),
                                        "kernel_style": "TDX_FEATURES0_" + ffield.upper(),
                                        "bit": lo, "module_flag": flag,
                                        "status_if_absent": yielded}
    # statuses reported through the TD-exit paths are results of the entry
    # leaves (TDH.VP.ENTER for the host, TDG.VP.ENTER for an L1 TD)
    for prefix, (leaf_name, key) in SINKS.items():
        if leaf_name in leaves and prefix in td_exit_all and leaves[leaf_name].get("handler"):
            leaf = leaves[leaf_name]
            leaf[key] = {s: sorted(fns) for s, fns in sorted(td_exit_all[prefix].items())}
            leaf["all"] = sorted(set(leaf["all"]) | set(leaf[key]))

    features = {}
    for fname, (lo, hi) in feat_fields.items():
        if fname.startswith("reserved") or fname == "raw":
            continue
        item = {"bit": lo}
        if fname in flags:
            item["enumerated_from"] = flags[fname]
        features["TDX_FEATURES0_" + fname.upper()] = item

    return {
        "files": {"leaves": leaves_rel, "statuses": errors_rel, "leaf_encoding": enc_rel,
                  "features": feat_rel},
        "error_codes_origin": origin,
        "leaf_encoding": {k: {"low": lo, "high": hi} for k, (lo, hi) in encoding.items()
                          if not k.startswith("reserved") and k != "raw"},
        "leaves": leaves,
        "vmcall_subleaves": {},
        "notes": {
            "vmcall_subleaves": "The module passes TDG.VP.VMCALL to the host VMM without reading a "
                                "sub-function number, so it defines none; the TDVMCALL sub-functions "
                                "are an agreement between the guest and the VMM (GHCI).",
            "handler_null": "A leaf with handler null has a number but no case in its dispatcher; "
                            "the dispatcher's default answers it with TDX_OPERAND_INVALID.",
            "success": "TDX_SUCCESS is left out of every per-leaf list: every leaf can return it.",
        },
        "statuses": statuses,
        "operand_ids": operand_ids,
        "dispatcher": dispatchers,
        "features": features,
        "parse_errors": module.parse_errors,
    }


# ---------------------------------------------------------------------------
# Git

def git(args: list[str], cwd: str | None = None, git_dir: str | None = None) -> str:
    cmd = ["git"] + (["--git-dir", git_dir] if git_dir else []) + args
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def is_bare_git(path: str) -> bool:
    return (os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))
            and not os.path.isdir(os.path.join(path, "src")))


def git_facts(commit: str, **kw) -> dict:
    tags = git(["for-each-ref", "--points-at", commit, "--format=%(refname:short)", "refs/tags"], **kw)
    heads = git(["for-each-ref", "--points-at", commit, "--format=%(refname:short)", "refs/heads"], **kw)
    return {"commit": commit,
            "commit_date": git(["show", "-s", "--format=%cI", commit], **kw),
            "subject": git(["show", "-s", "--format=%s", commit], **kw),
            "tags": sorted(tags.split()) if tags else [],
            "branches": sorted(heads.split()) if heads else []}


def newest_tag(git_dir: str) -> str:
    out = git(["for-each-ref", "--sort=-creatordate", "--format=%(refname:short)", "refs/tags"],
              git_dir=git_dir)
    if not out:
        raise SystemExit(f"{git_dir} has no tags; pass --rev")
    return out.splitlines()[0]


# ---------------------------------------------------------------------------
# Kernel

_KDEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?![\w(])[ \t]*((?:[^\n\\]|\\\n|\\.)*)", re.M)
_KERNEL_FUNCS = {
    "BIT": lambda n: 1 << n, "BIT_ULL": lambda n: 1 << n, "_BITUL": lambda n: 1 << n,
    "_BITULL": lambda n: 1 << n, "_UL": lambda x: x, "_ULL": lambda x: x, "UL": lambda x: x,
    "ULL": lambda x: x, "_AC": lambda x, *_: x, "U64_C": lambda x: x,
    "GENMASK": lambda h, l: ((1 << (h - l + 1)) - 1) << l,
    "GENMASK_ULL": lambda h, l: ((1 << (h - l + 1)) - 1) << l,
}


class KernelDefines:
    """Object-like #defines of some kernel headers, evaluated on demand."""

    def __init__(self, tree: str, headers):
        self.raw: dict[str, tuple[str, str]] = {}
        for rel in headers:
            path = os.path.join(tree, rel)
            if not os.path.isfile(path):
                continue
            src = open(path, encoding="utf-8", errors="replace").read()
            src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
            for m in _KDEFINE.finditer(src):
                body = re.sub(r"//.*", "", m.group(2).replace("\\\n", " ")).strip()
                self.raw.setdefault(m.group(1), (body, rel))
        self._cache: dict[str, int | None] = {}

    def value(self, name: str, depth: int = 0) -> int | None:
        if name in self._cache:
            return self._cache[name]
        if name not in self.raw or depth > 20:
            return None
        self._cache[name] = None   # guards against a define naming itself
        tree = c_parser().parse(("long __v = (" + self.raw[name][0] + ");").encode())
        init = next(walk(tree.root_node, {"init_declarator"}), None)
        val = None
        if init is not None and not any(n.type == "ERROR" for n in walk(init)):
            val = self._eval(init.child_by_field_name("value"), depth)
        self._cache[name] = None if val is None else val & MASK64
        return self._cache[name]

    def _eval(self, node, depth):
        if node is None:
            return None
        t = node.type
        if t == "number_literal":
            return int_value(text(node))
        if t == "identifier":
            return self.value(text(node), depth + 1)
        if t == "parenthesized_expression":
            return self._eval(node.named_children[0], depth) if node.named_children else None
        if t == "cast_expression":
            return self._eval(node.child_by_field_name("value"), depth)
        if t == "unary_expression":
            v = self._eval(node.child_by_field_name("argument"), depth)
            op = node.child_by_field_name("operator").type
            if v is None:
                return None
            return {"~": ~v & MASK64, "-": -v & MASK64, "+": v, "!": int(not v)}.get(op)
        if t == "binary_expression":
            a = self._eval(node.child_by_field_name("left"), depth)
            b = self._eval(node.child_by_field_name("right"), depth)
            if a is None or b is None:
                return None
            op = node.child_by_field_name("operator").type
            ops = {"|": a | b, "&": a & b, "^": a ^ b, "+": a + b, "-": a - b, "*": a * b,
                   "<<": (a << b) if b < 128 else None, ">>": a >> b,
                   "/": a // b if b else None, "%": a % b if b else None}
            return ops.get(op)
        if t == "call_expression":
            fn = _KERNEL_FUNCS.get(call_name(node) or "")
            args = node.child_by_field_name("arguments")
            vals = [self._eval(a, depth) for a in (args.named_children if args else [])]
            if fn is None or any(v is None for v in vals):
                return None
            try:
                return fn(*vals)
            except TypeError:
                return None
        return None


def kernel_version(tree: str) -> str:
    try:
        head = open(os.path.join(tree, "Makefile"), encoding="utf-8", errors="replace").read(2000)
    except OSError:
        return "unknown"
    parts = dict(re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)[ \t]*=[ \t]*(\S*)", head, re.M))
    return "%s.%s.%s%s" % (parts.get("VERSION", "?"), parts.get("PATCHLEVEL", "?"),
                           parts.get("SUBLEVEL", "?"), parts.get("EXTRAVERSION", ""))


def kernel_facts(tree: str, label: str | None) -> dict:
    present = [h for h in KERNEL_HEADERS if os.path.isfile(os.path.join(tree, h))]
    defs = KernelDefines(tree, list(KERNEL_HEADERS) + list(KERNEL_SUPPORT_HEADERS))
    leaf_defines, status_defines, operand_defines, vmcall_defines, other = {}, {}, {}, {}, []
    feature_defines, encoding_defines = {}, {}
    for name, (body, rel) in sorted(defs.raw.items()):
        if rel not in KERNEL_HEADERS:
            continue
        value = defs.value(name)
        if name.startswith(("TDH_", "TDG_")):
            if value is None:
                other.append(name)
            else:
                leaf_defines[name] = {"value": value, "file": rel}
        elif name.startswith("TDVMCALL_") and value is not None:
            vmcall_defines[name] = {"value": value, "file": rel}
        elif name.startswith("TDX_FEATURES0_") and value is not None:
            feature_defines[name] = {"value": value, "file": rel}
        elif name == "TDX_VERSION_SHIFT" and value is not None:
            encoding_defines[name] = {"value": value, "file": rel}
        elif name.startswith("TDX_OPERAND_ID_") and value is not None:
            operand_defines[name] = {"value": value, "file": rel}
        elif name.startswith("TDX_") and value is not None and (value >> 32 or name == "TDX_SUCCESS"):
            status_defines[name] = {"value": "0x%016X" % value, "file": rel}
    leaf_names = set(leaf_defines)
    callers: dict[str, set[str]] = {}
    parser = c_parser()
    for d in KERNEL_CALLER_DIRS:
        base = os.path.join(tree, d)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if not name.endswith((".c", ".h")) or (d.endswith("kvm/vmx") and "tdx" not in name):
                continue
            src = open(os.path.join(base, name), "rb").read()
            t = parser.parse(src)
            for fn in walk(t.root_node, {"function_definition"}):
                fdecl = fn.child_by_field_name("declarator")
                fname = declarator_name(fdecl)
                for call in walk(fn, {"call_expression"}):
                    cname = call_name(call) or ""
                    if "seamcall" not in cname.lower() and "tdcall" not in cname.lower():
                        continue
                    args = call.child_by_field_name("arguments")
                    for ident in walk(args, {"identifier"}) if args is not None else []:
                        if text(ident) in leaf_names and fname:
                            callers.setdefault(text(ident), set()).add(fname)
    return {
        "source": label or "linux %s" % kernel_version(tree),
        "version": kernel_version(tree),
        "headers": present,
        "leaf_defines": leaf_defines,
        "status_defines": status_defines,
        "operand_id_defines": operand_defines,
        "feature_defines": feature_defines,
        "leaf_encoding_defines": encoding_defines,
        "tdvmcall_defines": vmcall_defines,
        "unevaluated_defines": sorted(other),
        "callers": {k: sorted(v) for k, v in sorted(callers.items())},
    }


# ---------------------------------------------------------------------------

def build(module_path: str, kernel_path: str | None, rev: str | None, kernel_label: str | None,
          commit: str | None = None) -> dict:
    tmp = None
    try:
        if is_bare_git(module_path):
            rev = rev or newest_tag(module_path)
            sha = git(["rev-parse", rev + "^{commit}"], git_dir=module_path)
            tmp = tempfile.TemporaryDirectory()
            data = subprocess.run(["git", "--git-dir", module_path, "archive", "--format=tar", sha],
                                  check=True, capture_output=True).stdout
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(tmp.name, filter="data")
            source = git_facts(sha, git_dir=module_path)
            source["read_from"] = "git archive of " + rev
            root = tmp.name
        else:
            root = module_path
            try:
                sha = commit or git(["rev-parse", "HEAD"], cwd=root)
                source = git_facts(sha, cwd=root)
                dirty = git(["status", "--porcelain", "--untracked-files=no"], cwd=root)
                if dirty:
                    source["dirty"] = True
            except (subprocess.CalledProcessError, FileNotFoundError):
                if not commit:
                    raise SystemExit(f"{root} is not a git checkout: pass --commit")
                source = {"commit": commit}
            source["read_from"] = "checkout"
        source["repository"] = MODULE_URL
        facts = {"schema": SCHEMA, "generator": "tools/tdx_module_facts.py",
                 "module": {"source": source, **module_facts(Module(root))}}
    finally:
        if tmp is not None:
            tmp.cleanup()
    if kernel_path:
        facts["kernel"] = kernel_facts(kernel_path, kernel_label)
    return facts


def dump(facts: dict) -> str:
    return json.dumps(facts, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="TDX module checkout, or its bare git directory")
    ap.add_argument("kernel", nargs="?", help="unpacked Linux tree (optional)")
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    ap.add_argument("--rev", help="revision to read from a bare git directory (default: newest tag)")
    ap.add_argument("--commit", help="the module commit, when MODULE is not a git checkout")
    ap.add_argument("--fetch-kernel", action="store_true",
                    help="use Debian's %s via bench/linux_source.py" % KERNEL_PACKAGE)
    ap.add_argument("--kernel-label", help="how to name the kernel source in the output")
    ap.add_argument("--check", action="store_true", help="exit 1 if OUTPUT differs from the result")
    args = ap.parse_args(argv)
    kernel, label = args.kernel, args.kernel_label
    if args.fetch_kernel:
        kernel = fetch_kernel()
        label = label or "%s %s" % (KERNEL_PACKAGE, kernel_version(kernel))
    text_out = dump(build(args.module, kernel, args.rev, label, args.commit))
    if args.check:
        try:
            same = open(args.output, encoding="utf-8").read() == text_out
        except OSError:
            same = False
        print("up to date" if same else "differs: regenerate %s" % args.output)
        return 0 if same else 1
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text_out)
    print("wrote %s (%d bytes)" % (args.output, len(text_out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
