"""TDX facts, for the rules that need them.

- Status codes as data: which names are statuses, which carry detail bits,
  which are complete values; a test of one code (masked or raw, through
  which helper); the set of codes a condition is true for (CodeSet).
- Calls: what a call issues (a host SEAMCALL, a guest TDCALL, a TDVMCALL,
  an errno wrapper), by name and through the wrappers a patch defines
  (TdxPatchFacts, one per patch); and which leaf it names, as written
  (leaf_ref: the leaf constant, or the tdh_*()/tdg_*() wrapper whose leaf
  only the module data knows; facts.abi reads that data).
- Values and tests (TdxFacts, one per region): which values hold a TDX
  status, what a status test tests.
- Loops (LoopFacts, one per region): every loop form (for, while,
  do-while, a goto back to an earlier label), what it re-issues, the
  statuses it goes round again on, its bound (a counter, a deadline, an
  event, progress) and, for each retried status, the comment text that
  argues why retrying ends.

Facts about TDX, not about any one rule; every analysis is linear (or
n log n) in the size of the region, whatever the nesting. Nothing here
points back at what holds it: the per-patch objects are freed as soon as
a patch is checked, with the garbage collector resting (flow.forked).
"""
from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache
from itertools import takewhile

from ..common import NamedTuple, cached_property, lazy_re
from .c import (LOOP_TYPES, Region, ancestor, call_args, call_name, function_name, iter_nodes,
                strip_comment_markers, unparen, unwrap)
from .prose import (LOOP_WORDS, WORD, LoopClaim, ProseSentence, loop_claims, prose_sentences,
                    termination_reasons)

# ---- status codes ---------------------------------------------------------------

# Statuses the TDX module returns with operand or detail bits in 31:0:
# compare them only after masking (Dave: "mask out the fancy pants bits").
DETAIL_STATUSES = frozenset({
    "TDX_OPERAND_BUSY", "TDX_OPERAND_INVALID", "TDX_EPT_WALK_FAILED",
    "TDX_EPT_ENTRY_STATE_INCORRECT", "TDX_PREVIOUS_TLB_EPOCH_BUSY", "TDX_HPA_RANGE_NOT_FREE",
    "TDX_PAGE_METADATA_INCORRECT", "TDX_KEY_STATE_INCORRECT", "TDX_METADATA_FIELD_NOT_READABLE",
    "TDX_UPDATE_COMPAT_SENSITIVE", "TDX_OPERAND_PAGE_METADATA_INCORRECT", "TDX_ERROR_SEPT_BUSY",
})
# Complete 64-bit values the kernel synthesises: compare with ==, never mask.
SW_FULL_CODES = frozenset({"TDX_SEAMCALL_GP", "TDX_SEAMCALL_UD", "TDX_SEAMCALL_VMFAILINVALID"})
BUSY_CODES = frozenset({"TDX_OPERAND_BUSY", "TDX_ERROR_SEPT_BUSY", "TDX_PREVIOUS_TLB_EPOCH_BUSY"})
MASKS = frozenset({"TDX_SEAMCALL_STATUS_MASK", "TDX_STATUS_MASK"})
# Calls that hand back only the status half of a raw status.
MASKING_CALLS = frozenset({"TDX_STATUS", "tdx_status", "TDCALL_RETURN_CODE", "upper_32_bits"})
# Helpers that test a status for one code, masked: name -> code.
_KNOWN_HELPERS = {"tdx_operand_busy": "TDX_OPERAND_BUSY"}
_IS_HELPER = lazy_re(r"^IS_(TDX_[A-Z0-9_]+)$")
_STATUS_CONST = lazy_re(r"^TDX_[A-Z0-9_]+$|^TDVMCALL_STATUS_[A-Z0-9_]+$|^TDCALL_[A-Z0-9_]+$")
_NOT_STATUS = lazy_re(r"^TDX_(?:SEAMCALL_STATUS_MASK|STATUS_MASK|OPERAND_ID_\w+|"
                      r"NON_RECOVERABLE|VERSION_SHIFT|\w*_SHIFT|\w*_MASK|FEATURES\w*|ATTR\w*|"
                      r"MD_\w+|PS_\w+|TD_\w+|PAGE_SIZE\w*|SEAMCALL_RETRIES|R\d+|RBX|RDX|RSI|RDI|"
                      r"HYPERCALL_STANDARD|CPUID_LEAF_ID|IDENT)$|^TDCALL_RETURN_CODE$")
_ERRNO_CONST = lazy_re(r"^E[A-Z0-9]+$")

_WIDE = lazy_re(r"\b(?:u64|uint64_t|__u64|unsigned long long)\b")


def is_status_name(name: str) -> bool:
    return bool(_STATUS_CONST.match(name)) and not _NOT_STATUS.match(name) \
        and name not in ("TDX_SW_ERROR", "TDX_ERROR")


def is_status_type(type_text: str | None) -> bool:
    return type_text is not None and bool(_WIDE.search(type_text)) and "*" not in type_text


class CodeSet(NamedTuple):
    """The statuses for which a test is true: `codes` when not negated, every
    status but `codes` when negated."""
    codes: frozenset
    negated: bool = False

    def invert(self) -> "CodeSet":
        return CodeSet(self.codes, not self.negated)

    def union(self, other: "CodeSet") -> "CodeSet":
        a, b = self, other
        if not a.negated and not b.negated:
            return CodeSet(a.codes | b.codes)
        if a.negated and b.negated:
            return CodeSet(a.codes & b.codes, True)
        pos, neg = (a, b) if not a.negated else (b, a)
        return CodeSet(neg.codes - pos.codes, True)

    def intersect(self, other: "CodeSet") -> "CodeSet":
        return self.invert().union(other.invert()).invert()

    def names(self) -> list[str]:
        if self.negated:
            kept = sorted(self.codes - {"TDX_SUCCESS", "0"})
            return ["any status but " + (" and ".join(kept) if kept else "success")]
        # Going round again on success is walking through work, not retrying.
        return sorted(self.codes - {"0", "TDX_SUCCESS"})


class StatusTest(NamedTuple):
    node: object  # the test expression
    value: object  # the expression that holds the status (None for a helper of unknown argument)
    code: str  # the code tested for
    masked: bool  # the status is masked (or classified by a helper) before the compare
    helper: str | None  # the helper doing the test, if any
    op: str  # "==", "!=", "case", "helper", "class"


class Helper(NamedTuple):
    """A function that tests a status for one code: IS_TDX_*(), KVM's
    tdx_operand_busy(), or one the patch defines."""
    code: str
    masked: bool


def single_code_tests(region: Region, expr, facts: "TdxPatchFacts") -> list[StatusTest]:
    """The status tests in expr: compares with a status code (masked or
    raw), helper calls, and class tests ((x & TDX_SW_ERROR) == TDX_SW_ERROR)."""
    out = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        test = status_test(region, node, facts)
        if test is not None:
            out.append(test)
            continue
        stack.extend(reversed(node.named_children))
    return out


def status_test(region: Region, node, facts: "TdxPatchFacts") -> StatusTest | None:
    """node as a test of one status code, or None."""
    if node.type == "binary_expression" and region.op(node) in ("==", "!="):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        for const, value in ((right, left), (left, right)):
            code = code_of(region, const)
            if code is not None:
                inner = unparen(value)
                if code in ("TDX_SW_ERROR", "TDX_ERROR") and not masked_with(region, inner, code):
                    continue
                masked = is_masked(region, inner, facts.maskers) or with_operand(region, const)
                op = "class" if code in ("TDX_SW_ERROR", "TDX_ERROR") else region.op(node)
                return StatusTest(node, _status_operand(region, inner), code, masked, None, op)
        return None
    if node.type == "call_expression":
        name = call_name(node)
        helper = helper_for(name, facts.helpers)
        if helper is not None:
            args = call_args(node)
            return StatusTest(node, args[0] if args else None, helper.code, helper.masked, name,
                              "helper")
    return None


def helper_for(name: str, helpers: dict[str, Helper]) -> Helper | None:
    if name in helpers:
        return helpers[name]
    if name in _KNOWN_HELPERS:
        return Helper(_KNOWN_HELPERS[name], True)
    m = _IS_HELPER.match(name)
    if m:
        code = m.group(1)
        return Helper(code, code not in SW_FULL_CODES)
    return None


def code_of(region: Region, node) -> str | None:
    """The status code a constant names: TDX_* (TDX_SUCCESS included), a
    TDVMCALL/TDCALL status, TDX_SW_ERROR/TDX_ERROR as classes, -EXXX, or 0."""
    node = unparen(node)
    if node is None:
        return None
    if node.type == "identifier":
        name = region.text(node)
        if is_status_name(name) or name in ("TDX_SW_ERROR", "TDX_ERROR"):
            return name
        return None
    if node.type == "unary_expression" and region.op(node) == "-":
        arg = unparen(node.child_by_field_name("argument"))
        if arg is not None and arg.type == "identifier" and _ERRNO_CONST.match(region.text(arg)):
            return "-" + region.text(arg)
    if node.type == "number_literal" and region.int_value(node, {}) == 0:
        return "TDX_SUCCESS"
    if with_operand(region, node):
        return code_of(region, node.child_by_field_name("left")) or \
            code_of(region, node.child_by_field_name("right"))
    return None


def with_operand(region: Region, node) -> bool:
    """node is a status with its operand ID ORed in (TDX_OPERAND_BUSY |
    TDX_OPERAND_ID_SEPT): a deliberate compare of the whole value."""
    node = unparen(node)
    return node is not None and node.type == "binary_expression" and region.op(node) == "|" and any(
        (side := unparen(node.child_by_field_name(f))) is not None and side.type == "identifier"
        and region.text(side).startswith("TDX_OPERAND_ID_") for f in ("left", "right"))


def masked_with(region: Region, node, constant: str) -> bool:
    """node is `x & constant` (either order)."""
    node = unparen(node)
    return node is not None and node.type == "binary_expression" and region.op(node) == "&" and any(
        region.is_constant(side, constant)
        for side in (node.child_by_field_name("left"), node.child_by_field_name("right")))


def is_masked(region: Region, node, maskers=MASKING_CALLS) -> bool:
    """The value is masked, shifted or classified before a compare."""
    node = unwrap(node)
    if node is None:
        return False
    if node.type == "binary_expression":
        return region.op(node) in ("&", ">>")
    if node.type == "call_expression":
        return call_name(node) in maskers
    return False


def _status_operand(region: Region, node):
    """The status inside a masked value: err in (err & MASK) or TDX_STATUS(err)."""
    node = unwrap(node)
    if node is not None and node.type == "binary_expression" and region.op(node) in ("&", ">>"):
        for side in (node.child_by_field_name("left"), node.child_by_field_name("right")):
            inner = unwrap(side)
            if inner is not None and not (inner.type == "identifier" and region.text(inner) in MASKS) \
                    and inner.type != "number_literal":
                return inner
    if node is not None and node.type == "call_expression" and call_name(node) in MASKING_CALLS:
        args = call_args(node)
        return args[0] if args else node
    return node


# ---- calls and values -----------------------------------------------------------

HOST, GUEST, HYPERCALL, ERRNO = "host", "guest", "hypercall", "errno"

# Calls that issue a SEAMCALL or TDCALL and hand back the raw u64 status.
_HOST_CALL = lazy_re(r"^(?:__)?seamcall(?:_ret|_saved_ret|_dirty_cache)?$|^sc_retry$|"
                     r"^tdh_[a-z0-9_]+$")
_GUEST_CALL = lazy_re(r"^tdg_[a-z0-9_]+$|^__tdcall(?:_ret|_saved_ret)?$|^__tdx_module_call$")
_HYPERCALL = lazy_re(r"^_?_tdx_hypercall$|^tdvmcall_[a-z0-9_]+$")
_STATEMENT_TYPES = frozenset({"expression_statement", "compound_statement", "declaration",
                              "return_statement", "function_definition", "translation_unit"})
# Types of pointers to the SEAMCALL assembly functions.
SEAMCALL_POINTER_TYPES = frozenset({"sc_func_t"})
# Calls that issue one but return an errno (they print the status themselves).
_ERRNO_CALL = lazy_re(r"^seamcall_prerr\w*$|^sc_retry_prerr$")

# What a fix may use: the IS_TDX_*() helpers and status mask the code names.
# Read from the text, since a macro's body is text to tree-sitter.
_IS_HELPER_CALL = lazy_re(r"\b(IS_TDX_[A-Z0-9_]+)\s*\(")
_ERRNO_HELPER = lazy_re(r"DEFINE_TDX_ERRNO_HELPER\((TDX_[A-Z0-9_]+)\)")
_STATUS_MASK = lazy_re(r"\b(TDX_SEAMCALL_STATUS_MASK|TDX_STATUS_MASK)\b")
# Names a status variable goes by in TDX code (for a value whose assignment
# is out of sight, e.g. a hunk that starts mid-function).
_STATUS_NAME = lazy_re(r"^(?:err|error|ret|sret|status|tdx_ret|hret|\w*_ret|\w*_err|\w*_status)$")


@lru_cache(maxsize=8192)
def call_kind(name: str) -> str | None:
    """What a call issues, by its name alone (the same names come back in
    every function: asked once each)."""
    if _HOST_CALL.match(name):
        return HOST
    if _GUEST_CALL.match(name):
        return GUEST
    if _HYPERCALL.match(name):
        return HYPERCALL
    if _ERRNO_CALL.match(name):
        return ERRNO
    return None


# ---- leaves, as written --------------------------------------------------------

# Calls that take the leaf (RAX: leaf number and version) as an argument:
# callee -> the argument's index.
LEAF_ARGUMENT = {
    "seamcall": 0, "seamcall_ret": 0, "seamcall_saved_ret": 0, "__seamcall": 0, "__seamcall_ret": 0,
    "__seamcall_saved_ret": 0, "seamcall_prerr": 0, "seamcall_prerr_ret": 0, "sc_retry": 1,
    "__seamcall_dirty_cache": 1, "sc_retry_prerr": 2,
    "__tdcall": 0, "__tdcall_ret": 0, "__tdcall_saved_ret": 0, "tdcall": 0, "__tdx_module_call": 0,
}
# Calls that run the wrapper they are given: callee -> the argument's index
# (KVM's tdh_do_no_vcpus(tdh_mem_track, kvm, ...)).
WRAPPER_ARGUMENT = {"tdh_do_no_vcpus": 0}
LEAF_CONSTANT = lazy_re(r"^TD[HG]_[A-Z0-9_]+$")
# A wrapper named after its leaf (tdh_mem_page_aug()); which leaf is for the
# module data to say (facts.abi), as some carry a suffix (tdh_phymem_page_wbinvd_tdr()).
LEAF_WRAPPER = lazy_re(r"^td[hg]_[a-z0-9_]+$")
_MACRO_CALL = lazy_re(r"\b([A-Za-z_]\w*)\s*\(")


class _Param(NamedTuple):
    """An argument that is the enclosing function's (or macro's) parameter."""
    index: int


class _Handed(NamedTuple):
    """A macro that calls its index-th parameter: it issues the leaf of the
    wrapper its caller hands it."""
    index: int


def _closing(text: str, open_at: int) -> int | None:
    """The index of the parenthesis closing the one at open_at."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return None


def _param_names(func) -> list[str]:
    """The parameter names of a function definition, in order."""
    decl = func.child_by_field_name("declarator") if func is not None else None
    while decl is not None and decl.type != "function_declarator":
        decl = decl.child_by_field_name("declarator")
    params = decl.child_by_field_name("parameters") if decl is not None else None
    out = []
    for p in params.named_children if params is not None else ():
        if p.type in ("parameter_declaration", "variadic_parameter"):
            d = p.child_by_field_name("declarator")
            out.append(_declared(d) or "")
    return out


def _declared(declarator) -> str | None:
    node = declarator
    while node is not None and node.type != "identifier":
        node = node.child_by_field_name("declarator")
    return node.text.decode("utf-8", "replace") if node is not None else None


def leaf_constant(region: Region, node) -> str | None:
    """The one TDH_*/TDG_* leaf an expression names (TDH_VP_INIT in
    `TDH_VP_INIT | (1ULL << TDX_VERSION_SHIFT)`), seen through a #define of
    the region that stands for one (`#define TDH_VP_INIT_V1 (TDH_VP_INIT | ...)`)."""
    names = {region.text(i) for i in iter_nodes(node, {"identifier"}) if LEAF_CONSTANT.match(region.text(i))}
    if len(names) != 1:
        return None
    name = names.pop()
    value = region.defines().get(name)
    if value is not None:
        inner = {w for w in re.findall(r"\bTD[HG]_[A-Z0-9_]+\b", value) if w != name}
        if len(inner) == 1:
            return inner.pop()
    return name


def _argument(region: Region, node, params: list[str]):
    """What an argument says about a leaf: a leaf constant, a wrapper's
    name (a function handed on, lower case), a _Param, or None."""
    node = unwrap(node)
    if node is None:
        return None
    if node.type == "identifier":
        text = region.text(node)
        if text in params:
            return _Param(params.index(text))
        if LEAF_CONSTANT.match(text):
            return leaf_constant(region, node)
        return text if text[:1].islower() or text[:1] == "_" else None
    return leaf_constant(region, node)


def _split_arguments(text: str) -> list[str]:
    """A macro call's argument texts, split at the top-level commas."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


# ---- per-patch facts ----------------------------------------------------------


class TdxPatchFacts:
    """What the C files of one patch say about functions and macros: which
    issue a TDX call (and return its status or an errno), which test a
    status for a code. Shared by every region of the patch.

    Each function and macro is read once into a small record (the names it
    calls, what it returns); wrappers of wrappers are then resolved on those
    records, not by reading the trees again."""

    def __init__(self, regions: list[Region], prose: tuple = ()):
        # The changelog as (index, text) lines: it may argue why a loop
        # ends, or claim how it ends, as well as a comment can.
        self.prose = tuple(prose)
        self.wrappers: dict[str, str] = {}
        self.issuers: set[str] = set()  # functions and macros that issue a TDX call at all
        self.helpers: dict[str, Helper] = {}
        self.maskers: set[str] = set(MASKING_CALLS)  # functions returning a masked status
        # function or macro -> where the status it returns comes from: (region,
        # call node, the function node) per returned call, or (None, body text,
        # parameter names) for a macro
        self._leaf_sources: dict[str, list[tuple]] = {}
        self._regions = regions
        records = []
        for region in regions:
            records += self._read(region)
        for _ in range(4):  # wrappers of wrappers, a few levels deep
            if not self._resolve(records):
                break

    @cached_property
    def changelog(self) -> tuple[ProseSentence, ...]:
        """The changelog's sentences (their keys: changelog line indices)."""
        return prose_sentences(self.prose)

    @cached_property
    def changelog_claims(self) -> list["ClaimAt"]:
        """What the changelog claims about how a loop ends (each at its
        changelog line index)."""
        return [ClaimAt(c, s.key_at(c.start), s.text, c.caused or bool(termination_reasons(s.text)))
                for s in self.changelog for c in loop_claims(s.text)]

    @cached_property
    def masking_in_sight(self) -> tuple[frozenset[str], str | None]:
        """The IS_TDX_*() helpers and the status mask the patch's code
        uses: what a suggested fix may use (and nothing else)."""
        helpers: set[str] = set()
        mask = None
        for region in self._regions:
            text = "\n".join(region.lines)
            helpers.update(_IS_HELPER_CALL.findall(text))
            helpers.update("IS_" + code for code in _ERRNO_HELPER.findall(text))
            found = mask is None and _STATUS_MASK.search(text)
            mask = mask or (found.group(1) if found else None)
        return frozenset(helpers), mask

    @cached_property
    def declared_in(self) -> dict[str, Region]:
        """The first region that declares or defines each function name
        (a rule asking about every call looks the callee up here first)."""
        out: dict[str, Region] = {}
        for region in self._regions:
            for name in region.declarators:
                out.setdefault(name, region)
        return out

    def param_types(self, name: str) -> list[str] | None:
        """Parameter types of a function in sight (the first region that
        declares it has the say), or None."""
        region = self.declared_in.get(name)
        return region.param_types(name) if region is not None else None

    def kind(self, name: str) -> str | None:
        return call_kind(name) or self.wrappers.get(name)

    def issues(self, name: str) -> bool:
        return self.kind(name) is not None or name in self.issuers

    def _read(self, region: Region) -> list[tuple]:
        """(name, called names, {local: the call assigned to it}, returned
        ('call' or 'var', name) pairs, returns a u64) per function and macro."""
        out = []
        for func in region.find("function_definition"):
            name = function_name(func)
            if not name:
                continue
            known = call_kind(name)
            if known and not LEAF_WRAPPER.match(name):
                continue  # seamcall() and friends: the leaf is their argument
            assigned_calls = {region.text(a.target): a.call for a in region.assignments(within=func)
                              if a.call is not None and a.target is not None}
            returns = region.returns(within=func)
            returned = []
            sources = []
            for ret in returns:
                if ret.call is not None:
                    returned.append(("call", ret.callee))
                    sources.append((region, ret.call, func))
                elif (value := unwrap(ret.value)) is not None and value.type == "identifier":
                    returned.append(("var", region.text(value)))
                    if region.text(value) in assigned_calls:
                        sources.append((region, assigned_calls[region.text(value)], func))
            if sources:
                self._leaf_sources.setdefault(name, sources)
            if known:
                continue  # a tdh_*()/tdg_*() wrapper: what it issues is known by its name
            calls = {c.name for c in region.calls(within=func)}
            assigned = {target: call_name(call) for target, call in assigned_calls.items()}
            out.append((name, calls, assigned, returned, is_status_type(region.return_type(func))))
            if len(returns) == 1 and returns[0].value is not None:
                value = returns[0].value
                if is_masked(region, value, self.maskers):
                    self.maskers.add(name)
                if "bool" in (region.return_type(func) or ""):
                    tests = single_code_tests(region, value, self)
                    if len(tests) == 1 and tests[0].op in ("==", "helper", "class"):
                        self.helpers.setdefault(name, Helper(tests[0].code, tests[0].masked))
        for node in region.find("preproc_function_def"):
            name_node, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name_node is None or value is None:
                continue
            name = region.text(name_node)
            known = call_kind(name)
            if not known or LEAF_WRAPPER.match(name):
                params = node.child_by_field_name("parameters")
                names = [region.text(p) for p in params.named_children] if params is not None else []
                self._leaf_sources.setdefault(name, [(None, region.text(value), names)])
            if known:
                continue
            called = {c for c in re.findall(r"\b([A-Za-z_]\w*)\s*\(", region.text(value)) if c != name}
            out.append((name, called, None, None, True))
        return out

    def _resolve(self, records: list[tuple]) -> bool:
        """One round of learning from the records; whether anything was learned."""
        learned = False
        for name, calls, assigned, returned, wide in records:
            kinds = [self.kind(c) for c in calls]
            if name not in self.issuers and (any(kinds) or any(c in self.issuers for c in calls)):
                self.issuers.add(name)
                learned = True
            if name in self.wrappers or not wide:
                continue
            if returned is None:  # a macro: the status of the first TDX call it makes
                kind = next((k for k in kinds if k in (HOST, GUEST, HYPERCALL)), None)
            else:
                kind = self._returned_kind(assigned, returned)
            if kind:
                self.wrappers[name] = kind
                learned = True
        return learned

    def leaf_ref(self, region: Region, call) -> str | None:
        """The leaf a call issues, as the code names it: a TDH_*/TDG_*
        constant (upper case), or the name of a tdh_*()/tdg_*() wrapper whose
        leaf only the module data knows (lower case); None when the code does
        not say (a leaf passed in from out of sight, say). Wrappers the patch
        defines are followed to the SEAMCALL/TDCALL whose status they return,
        with the leaf their callers hand them."""
        params = _param_names(region.function_at(call.start_byte))
        args = call_args(call)
        found = self._ref(call_name(call), lambda i: _argument(region, args[i], params) if i < len(args) else None, 0)
        return found if isinstance(found, str) else None

    def _ref(self, name: str, argument, depth: int):
        """leaf_ref for a call of name whose i-th argument says argument(i)."""
        if depth > 6:
            return None
        if name in LEAF_ARGUMENT:
            found = argument(LEAF_ARGUMENT[name])
            return found if isinstance(found, _Param) or (found and LEAF_CONSTANT.match(found)) else None
        if name in WRAPPER_ARGUMENT:
            handed = argument(WRAPPER_ARGUMENT[name])
            return self._ref(handed, lambda i: None, depth + 1) if isinstance(handed, str) else None
        sources = self._leaf_sources.get(name)
        if sources is None:
            return name if LEAF_WRAPPER.match(name) else None
        found = set()
        for region, call, func in sources:
            ref = self._source_ref(region, call, func, depth)
            if isinstance(ref, _Param):
                ref = argument(ref.index)
            elif isinstance(ref, _Handed):
                handed = argument(ref.index)
                ref = self._ref(handed, lambda i: None, depth + 1) if isinstance(handed, str) else None
            found.add(ref)
        return found.pop() if len(found) == 1 else None

    def _source_ref(self, region, call, func, depth: int):
        """What one returned call (or a macro's body) says about the leaf."""
        if region is None:  # a macro: call is its body text, func its parameter names
            body, params = call, func
            leaves = set(re.findall(r"\bTD[HG]_[A-Z0-9_]+\b", body))
            if len(leaves) == 1:
                return leaves.pop()
            for m in _MACRO_CALL.finditer(body):
                callee = m.group(1)
                if callee in params:  # it runs the function its caller hands it
                    return _Handed(params.index(callee))
                if callee in LEAF_ARGUMENT or callee in self._leaf_sources:
                    close = _closing(body, m.end() - 1)
                    args = _split_arguments(body[m.end():close]) if close else []
                    return self._ref(callee, lambda i: _Param(params.index(args[i].strip("() ")))
                                     if i < len(args) and args[i].strip("() ") in params else None, depth + 1)
            return None
        params = _param_names(func)
        args = call_args(call)
        return self._ref(call_name(call), lambda i: _argument(region, args[i], params) if i < len(args) else None,
                         depth + 1)

    def _returned_kind(self, assigned: dict[str, str], returned: list[tuple]) -> str | None:
        """The kind of TDX call whose status a function returns (directly,
        or through a local assigned from it)."""
        for what, name in returned:
            call = name if what == "call" else assigned.get(name)
            kind = self.kind(call) if call else None
            if kind in (HOST, GUEST, HYPERCALL):
                return kind
        return None


# ---- per-region facts -------------------------------------------------------------


class TdxFacts:
    """The TDX facts of one region, given what the whole patch shows: what
    each call issues, which values hold a status, the status tests."""

    def __init__(self, region: Region, patch_facts: TdxPatchFacts):
        self.region = region
        self.patch = patch_facts

    # -- calls ---------------------------------------------------------------

    def kind(self, call) -> str | None:
        key = (call.start_byte, call.end_byte)  # rules ask about the same calls many times
        return self._kinds[key] if key in self._kinds else self._kind(call, call_name(call))

    @cached_property
    def _kinds(self) -> dict:
        return {(c.node.start_byte, c.node.end_byte): self._kind(c.node, c.name) for c in self.region.calls()}

    def _kind(self, call, name: str) -> str | None:
        kind = self.patch.kind(name)
        if kind is None and name in self._seamcall_pointers(self.region.function_at(call.start_byte)):
            return HOST  # sc_retry()'s func(fn, args): the SEAMCALL it was handed
        if kind is None and (call.start_byte, call.end_byte) in self._inferred:
            return self._inferred[(call.start_byte, call.end_byte)]
        return kind

    @cached_property
    def makes_seamcalls(self) -> bool:  # directly or through a wrapper
        return HOST in self._kinds.values()

    @cached_property
    def _inferred(self) -> dict:
        """Calls of unknown name whose result the code compares with a TDX
        status code: they return a status (a function pointer, a wrapper out
        of sight). Found from the status tests of the region."""
        region = self.region
        out = {}
        tested: dict = {}  # (function start, variable) -> kind
        for test in self.status_tests():
            if not test.code.startswith("TDX_") or test.code in ("TDX_SUCCESS", "TDX_SW_ERROR", "TDX_ERROR"):
                continue
            value = unwrap(test.value)
            if value is None:
                continue
            if value.type == "call_expression" and self.patch.kind(call_name(value)) is None:
                out[(value.start_byte, value.end_byte)] = HOST
            elif value.type == "identifier":
                func = self.region.function_at(value.start_byte)
                tested[(func.start_byte if func is not None else -1, region.text(value))] = HOST
        if tested:
            for a in region.assignments():
                if a.target is None or a.call is None:
                    continue
                func = self.region.function_at(a.node.start_byte)
                key = (func.start_byte if func is not None else -1, region.text(a.target))
                if key in tested and self.patch.kind(a.callee) is None \
                        and not a.callee.startswith(("IS_", "is_")):
                    out[(a.call.start_byte, a.call.end_byte)] = tested[key]
        return out

    def _seamcall_pointers(self, func) -> frozenset[str]:
        """Parameters and locals of func that point to a SEAMCALL function."""
        if func is None or not self._names_pointer_types:
            return frozenset()
        memo = self.__dict__.setdefault("_sc_pointers", {})
        if func.start_byte not in memo:
            region = self.region
            memo[func.start_byte] = frozenset(
                region.text(d) for p in region.find("parameter_declaration", "declaration", within=func)
                if (t := p.child_by_field_name("type")) is not None and region.text(t) in SEAMCALL_POINTER_TYPES
                for d in [p.child_by_field_name("declarator")] if d is not None and d.type == "identifier")
        return memo[func.start_byte]

    @cached_property
    def _names_pointer_types(self) -> bool:  # a cheap first look at the region's text
        return any(t.encode() in self.region.source for t in SEAMCALL_POINTER_TYPES)

    def issuing_calls_within(self, start: int, end: int) -> list:
        """The calls in the bytes start..end that issue a SEAMCALL, TDCALL
        or TDVMCALL, directly or through a function or macro in sight."""
        patch = self.patch
        return [c.node for c in self.region.calls_between(start, end)
                if patch.issues(c.name) or self.kind(c.node) is not None]

    # -- status values ---------------------------------------------------------

    @cached_property
    def _assigned_status(self) -> dict:
        """(scope start byte, name) -> kind, for every local or field the
        region assigns a status to."""
        out = {}
        for a in self.region.assignments():
            if a.call is None or a.target is None:
                continue
            kind = self.kind(a.call)
            if kind in (HOST, GUEST, HYPERCALL):
                scope = self.region.function_at(a.node.start_byte)
                out[(scope.start_byte if scope is not None else -1, self.region.text(a.target))] = kind
                if a.target.type == "field_expression":
                    out[(-2, self.region.text(a.target))] = kind
        return out

    def status_kind(self, node) -> str | None:
        """The kind of call whose status node holds (HOST, GUEST,
        HYPERCALL), "u64" for a u64 named like a status whose source is out
        of sight, or None."""
        node = unwrap(node)
        if node is None:
            return None
        region = self.region
        if node.type == "call_expression":
            kind = self.kind(node)
            return kind if kind in (HOST, GUEST, HYPERCALL) else None
        if node.type not in ("identifier", "field_expression"):
            return None
        text = region.text(node)
        scope = self.region.function_at(node.start_byte)
        key = (scope.start_byte if scope is not None else -1, text)
        kind = self._assigned_status.get(key) or self._assigned_status.get((-2, text))
        if kind is not None:
            return kind
        if node.type == "identifier":  # the name first: it is cheaper than the type
            return "u64" if _STATUS_NAME.match(text) \
                and is_status_type(region.declared_type(scope or region.root, text)) else None
        field = node.child_by_field_name("field")
        name = region.text(field) if field is not None else ""
        if _STATUS_NAME.match(name) and is_status_type(region.declared_type(None, name)):
            return "u64"
        return None

    # -- tests ------------------------------------------------------------------

    def status_tests(self) -> list[StatusTest]:
        """Every compare of a value with a status code, and every helper test."""
        memo = self.__dict__.get("_tests")
        if memo is None:
            memo = []
            region = self.region
            nodes = [b.node for b in region.binaries() if b.op in ("==", "!=")] + [  # what can be a test
                c.node for c in region.calls() if helper_for(c.name, self.patch.helpers) is not None]
            for node in sorted(nodes, key=lambda n: n.start_byte):
                test = status_test(region, node, self.patch)
                if test is not None:
                    memo.append(test)
            self.__dict__["_tests"] = memo
        return memo

    def tests_for_any(self, codes: frozenset[str], node) -> bool:
        """Does a status test inside node test for one of codes? (Only then
        can truth_codes(node) hold one of them without the rest.)"""
        memo = self.__dict__.setdefault("_test_starts", {})
        if codes not in memo:  # the tests come in document order
            memo[codes] = [t.node.start_byte for t in self.status_tests() if t.code in codes]
        starts = memo[codes]
        return node is not None and bisect_left(starts, node.start_byte) < bisect_left(starts, node.end_byte)

    @cached_property
    def _tests_by_node(self) -> dict:
        return {(t.node.start_byte, t.node.end_byte, t.node.type): t for t in self.status_tests()}

    def test_of(self, node) -> StatusTest | None:
        """The status test the expression node is part of, if any."""
        memo = self.__dict__.setdefault("_test_of", {})
        start = (node.start_byte, node.end_byte, node.type)
        if start not in memo:
            memo[start] = _innermost_key(node, self._tests_by_node)
        return memo[start]

    def truth_codes(self, expr) -> CodeSet | None:
        """For which statuses expr is true, where expr tests a status (None
        when it does not, or not only)."""
        region = self.region
        node = unwrap(expr)
        if node is None:
            return None
        if node.type == "call_expression" and call_name(node) in ("likely", "unlikely") \
                and call_args(node):
            return self.truth_codes(call_args(node)[0])
        if node.type == "unary_expression" and region.op(node) == "!":
            inner = self.truth_codes(node.child_by_field_name("argument"))
            return inner.invert() if inner is not None else None
        if node.type == "binary_expression" and region.op(node) in ("&&", "||"):
            left = self.truth_codes(node.child_by_field_name("left"))
            right = self.truth_codes(node.child_by_field_name("right"))
            if left is None or right is None:
                return left or right  # the other side is a bound, not a status
            return left.union(right) if region.op(node) == "||" else left.intersect(right)
        test = status_test(region, node, self.patch)
        if test is not None:
            codes = CodeSet(frozenset({test.code}))
            return codes.invert() if test.op == "!=" else codes
        if self.status_kind(node) is not None:  # while (ret): any failure
            return CodeSet(frozenset({"TDX_SUCCESS"}), True)
        return None


# ---- loops ----------------------------------------------------------------------

_DEADLINE = lazy_re(r"\b(time_before\w*|time_after\w*|time_is_\w+|ktime_\w+|jiffies|"
                    r"timeout|deadline)\b")
_EVENT_EXIT = lazy_re(r"\b(signal_pending|fatal_signal_pending|kvm_vcpu_has_events|"
                      r"need_resched|kthread_should_stop|KVM_REQ_VM_DEAD|vm_dead|"
                      r"kvm_check_request)\b")
# A condition comparing two moving values (next < end): the loop ends on progress.
_RELATIONAL = lazy_re(r"[\w)\]]\s*(?:<=?|>=?)\s*[\w(]")




def _innermost_key(node, table: dict):
    """What table holds for node or the nearest expression around it (up
    to its statement), keyed by (start byte, end byte, type); None if none."""
    while node is not None and node.type not in _STATEMENT_TYPES:
        found = table.get((node.start_byte, node.end_byte, node.type))
        if found is not None:
            return found
        node = node.parent
    return None


class Loop:
    """A loop that may re-issue a TDX call: a for/while/do statement or a
    goto back to an earlier label. Properties are worked out on demand."""

    def __init__(self, sweep: "_LoopSweep", index: int, node, kind: str, span: tuple[int, int],
                 condition=None, back_edge=None):
        # What the loops of a region share (jumps, counters, nesting); it
        # holds no Loop, so nothing here points back at what holds the loop.
        self._sweep = sweep
        self.index = index  # the loop's place among the region's loops
        self.node = node  # the loop statement (the labeled statement for a goto loop)
        self.kind = kind  # "for", "while", "do" or "goto"
        self.span = span  # bytes the loop covers
        self.condition = condition  # the continue condition (None: none, or for (;;))
        self.back_edge = back_edge  # the `goto` of a goto loop

    @property
    def exit_tests(self) -> list:
        """The if-conditions whose branch leaves the loop."""
        return self._sweep.jumps(self.index)[0]

    @property
    def continue_tests(self) -> list:
        """The conditions (or case values) that go round again."""
        return self._sweep.jumps(self.index)[1]

    @property
    def infinite(self) -> bool:
        if self.kind == "goto":
            return False
        if self.condition is None:
            return self.kind == "for"
        return self._sweep.region.int_value(self.condition, {}) not in (None, 0)

    @cached_property
    def reissues(self) -> list:
        """The calls in the loop that issue a SEAMCALL/TDCALL/TDVMCALL,
        directly or through a function or macro the patch shows."""
        return self._sweep.tdx.issuing_calls_within(*self.span)

    @cached_property
    def retried(self) -> CodeSet | None:
        """The statuses on which the loop goes round again (None: the loop
        does not decide on a status)."""
        tdx = self._sweep.tdx
        when = None
        if self.kind == "goto":
            guard = ancestor(self.back_edge, ("if_statement",), stop=self.node)
            if guard is not None:
                when = tdx.truth_codes(guard.child_by_field_name("condition"))
            return when
        if self.condition is not None and not self.infinite:
            when = tdx.truth_codes(self.condition)
        for test in self.exit_tests:
            leaves = tdx.truth_codes(test)
            if leaves is not None:
                stay = leaves.invert()
                when = stay if when is None else when.intersect(stay)
        for test in self.continue_tests:
            again = tdx.truth_codes(test) if test.type != "case_value" else test.codes
            if again is not None:
                when = again if when is None else when.union(again)
        return when

    @property
    def codes(self) -> list[str]:
        """The retried statuses, in the order the code names them."""
        if self.retried is None:
            return []
        region = self._sweep.region
        text = " ".join(region.text(n) for n in self.deciding())
        return sorted(self.retried.names(), key=lambda c: (text.find(c) % (len(text) + 1), c))

    def deciding(self) -> list:
        """The expressions that decide whether the loop goes round again."""
        out = [n for n in (self.condition,) if n is not None]
        if self.kind == "for":
            out += [n for n in (self.node.child_by_field_name("initializer"),
                                self.node.child_by_field_name("update")) if n is not None]
        out += [t for t in self.exit_tests + self.continue_tests if t.type != "case_value"]
        if self.kind == "goto":
            guard = ancestor(self.back_edge, ("if_statement",), stop=self.node)
            if guard is not None:
                out.append(guard.child_by_field_name("condition"))
        return out

    @cached_property
    def bound(self) -> "Bound | None":
        """What makes the loop end besides the status: a counter (updated in
        the loop and tested), a deadline, an event, or progress."""
        region, deciding = self._sweep.region, self.deciding()
        texts = [region.text(n) for n in deciding]
        names = {region.text(i) for n in deciding for i in _identifiers(n)}
        for name in sorted(names):
            if self._sweep.updated_within(name, *self.span):
                return Bound("counter", name, self._counter_value(name))
        flag = self._flag(names)
        if flag is not None:
            return Bound("flag", flag, 1)
        joined = " ".join(texts)
        if _DEADLINE.search(joined):
            return Bound("deadline", None, None)
        if _EVENT_EXIT.search(joined):
            return Bound("event", None, None)
        cond = region.text(self.condition) if self.condition is not None else ""
        if _RELATIONAL.search(cond):
            return Bound("progress", None, None)
        return None

    def _flag(self, names: set[str]) -> str | None:
        """A flag that lets the loop go round once more and no further: a
        tested name set to a constant on every round (at the top of the
        loop's body) or on the way back of a goto loop (`retried = true;
        goto again;`)."""
        region = self._sweep.region
        if self.kind == "goto":
            guard = ancestor(self.back_edge, ("if_statement",), stop=self.node)
            scopes = [guard.child_by_field_name("consequence")] if guard is not None else []
        else:
            body = self.node.child_by_field_name("body")
            scopes = [body] if body is not None else []
        for scope in scopes:
            for a in region.assignments(within=scope):
                stmt = ancestor(a.node, ("expression_statement", "declaration"))
                if a.target is None or a.is_init or stmt is None or stmt.parent != scope:
                    continue
                value = unwrap(a.value)
                if region.text(a.target) in names and value is not None and (
                        value.type in ("true", "false", "number_literal")
                        or region.text(value) in ("true", "false")):
                    return region.text(a.target)
        return None

    def _counter_value(self, name: str) -> int | None:
        """The number of rounds a counter allows, where it is a constant."""
        region = self._sweep.region
        for node in self.deciding():
            for sub in _binary_nodes(node):
                if region.op(sub) in ("<", "<=", ">", ">=", "!=", "=="):
                    for side in (sub.child_by_field_name("left"), sub.child_by_field_name("right")):
                        value = region.int_value(side)
                        if value is not None and value > 1:
                            return value
        func = region.function_at(self.node.start_byte) or region.root
        for a in region.assignments(within=func):
            if a.target is not None and region.text(a.target) == name:
                value = region.int_value(a.value)
                if value is not None and value > 1:
                    return value
        return None

    @property
    def report_node(self):
        """Where a finding about the loop goes: its condition, else its head
        (for a goto loop, the test that jumps back)."""
        if self.kind == "goto":
            guard = ancestor(self.back_edge, ("if_statement",), stop=self.node)
            return [guard.child_by_field_name("condition"), self.back_edge] if guard else self.back_edge
        if self.condition is not None and self._sweep.region.first_added(self.condition) is not None:
            return self.condition
        return self.node

    def comments(self) -> list:
        """Comments that speak for the loop: the nearest one above it and
        the ones inside it (not in loops nested in it)."""
        region = self._sweep.region
        above = [c for c in region.comment_above(self.node) if c.node.start_byte < self.span[0]][:1]
        inside = [c for c in region.comments_between(*self.span)
                  if self._sweep.innermost(c.node.start_byte) == self.index]
        return above + inside

    def justification(self, code: str | None) -> "Argument | None":
        """Why retrying on code ends, as the prose argues it: a comment at
        or above the loop, else the changelog. code None asks for an
        argument about the loop as a whole (one that names no status)."""
        return self._arguments.get(code)

    @cached_property
    def _arguments(self) -> dict:
        codes = self.codes
        found: dict = {}
        for comment in self.comments():
            for code, (reason, sentence) in _argued(comment_sentences(comment), codes, True).items():
                found.setdefault(code, Argument(reason.kind, sentence.text, "comment",
                                                sentence.key_at(reason.start)))
        changelog = self._sweep.tdx.patch.changelog
        if changelog and not all(c in found for c in codes + [None]):
            for code, (reason, sentence) in _argued(changelog, codes, False).items():
                found.setdefault(code, Argument(reason.kind, sentence.text, "changelog",
                                                sentence.key_at(reason.start)))
        return found

    def bound_argued(self) -> bool:
        """Does the prose argue that something other than the loop bounds
        it (a deadline or a count kept by the caller, the TDX module, ...),
        for every status it retries on (or for the loop as a whole)?"""
        return all((a := self.justification(c)) is not None and a.kind in ("deadline", "bound")
                   for c in (self.codes or [None]))

    def claims(self) -> list["ClaimAt"]:
        """What the comments that speak for the loop claim about how it ends
        (the comment right above it, with at most a few lines of setup in
        between, and the ones inside it), each at its line."""
        out = []
        for comment in self._sweep.claim_comments(self.index):
            for sentence in comment_sentences(comment):
                for claim in loop_claims(sentence.text, at_loop=True):
                    out.append(ClaimAt(claim, sentence.key_at(claim.start), sentence.text,
                                       claim.caused or bool(termination_reasons(sentence.text))))
        return out


class Bound(NamedTuple):
    kind: str  # "counter", "flag", "deadline", "event" or "progress"
    name: str | None  # the counter
    value: int | None  # the rounds a counter allows, when constant


class Argument(NamedTuple):
    """A sentence that argues why a retry ends."""
    kind: str  # "progress", "contention", "lock", "deadline" or "bound" (see prose.Reason)
    sentence: str
    source: str  # "comment" or "changelog"
    line: int  # the comment's post-image line, or the changelog line index


class ClaimAt(NamedTuple):
    """A claim about how a loop ends, where it is made."""
    claim: LoopClaim
    line: int  # post-image line of the comment (changelog line index for the changelog)
    sentence: str
    reasoned: bool  # the sentence also gives a reason the loop ends


def comment_sentences(comment) -> tuple[ProseSentence, ...]:
    """A comment's sentences, keyed by post-image line."""
    rows = comment.raw.split("\n")
    entries = comment.lines
    rows = rows[len(rows) - len(entries):] if len(entries) <= len(rows) else rows
    return prose_sentences((no, strip_comment_markers(row)) for (no, _line), row in zip(entries, rows))


# Words of a status name that say nothing of what it means.
_STATUS_WORD_STOP = frozenset("tdx tdvmcall tdcall status error sys no not operand retry success previous "
                              "code sw hw".split())
# What prose calls a status by (a busy status is contention, ...).
_STATUS_SYNONYMS = {"busy": ("busy", "contention", "contend", "conflict"),
                    "entropy": ("entropy", "random", "rdrand", "rdseed"),
                    "interrupted": ("interrupt",), "resumable": ("resum",)}
_CODE_NAME = lazy_re(r"^[A-Z][A-Z0-9_]+$")
_UPPER_NAME = lazy_re(r"\b[A-Z][A-Z0-9_]{3,}\b")
_CLAUSE_JOINER = lazy_re(r"^[\s,/]*+(?:and/or|and|or|&)?+[\s,/]*+$", re.I)


@lru_cache(maxsize=512)
def status_stems(code: str) -> tuple[str, ...]:
    """The beginnings of the words prose uses for a status:
    TDX_INTERRUPTED_RESUMABLE -> interrupt..., resum...; *_BUSY -> busy,
    contention, ..."""
    if not _CODE_NAME.match(code):
        return ()
    out: list[str] = []
    for part in code.lower().split("_"):
        if part not in _STATUS_WORD_STOP and len(part) >= 4:
            out += _STATUS_SYNONYMS.get(part, (part,))
    return tuple(out)


def _mentions(text: str, codes: list[str]) -> list[tuple[int, int, frozenset]]:
    """Where a sentence names a status, by name or by what it means, with
    the retried codes each mention stands for (none: another status)."""
    out = []
    for m in _UPPER_NAME.finditer(text):
        name = m.group(0)
        named = frozenset(c for c in codes if name == c or name == c.replace("TDX_", "", 1))
        if named or is_status_name(name) or ("_" in name and is_status_name("TDX_" + name)):
            out.append((m.start(), m.end(), named))
    stems = [(c, status_stems(c)) for c in codes]
    if any(st for _c, st in stems):
        for m in WORD.finditer(text):
            word = m.group(0).lower()
            named = frozenset(c for c, st in stems if any(word.startswith(x) for x in st))
            if named:
                out.append((m.start(), m.end(), named))
    out.sort()
    return out


def _argued(sentences, codes: list[str], generic: bool) -> dict:
    """code -> (reason, sentence) for each retried code (and None for the
    loop as a whole) that the sentences argue ends.

    A sentence argues for the codes it names, by name or by meaning ("an
    interrupted call", "this contention"). Where it names several, a code
    gets a reason only from its own part of the sentence, or from a part
    it shares with codes merely listed with it ("A and B guarantee
    forward progress"). A sentence that names none speaks of what the
    sentences before it in its paragraph named; with nothing named yet,
    of the loop as a whole (in a changelog, only when it speaks of
    looping or retrying: generic=False)."""
    out: dict = {}
    paragraph, referent = None, None
    for sentence in sentences:
        if sentence.paragraph != paragraph:
            paragraph, referent = sentence.paragraph, None
        text = sentence.text
        mentions = _mentions(text, codes)
        if mentions:
            referent = frozenset().union(*(m[2] for m in mentions))
        reasons = termination_reasons(text)
        if not reasons:
            continue
        if not mentions:
            if referent is not None:
                targets = referent
            elif generic or LOOP_WORDS.search(text):
                targets = list(codes) + [None]
            else:
                targets = ()
            for code in targets:
                out.setdefault(code, (reasons[0], sentence))
            continue
        joined = [bool(_CLAUSE_JOINER.match(text[a[1]:b[0]])) for a, b in zip(mentions, mentions[1:])]
        lead = [r for r in reasons if r.start < mentions[0][0]] if all(joined) else []
        for i, (start, _end, named) in enumerate(mentions):
            if not named:
                continue
            j = i
            while j < len(joined) and joined[j]:
                j += 1
            stop = mentions[j + 1][0] if j + 1 < len(mentions) else len(text)
            mine = [r for r in reasons if start <= r.start < stop] or lead
            if mine:
                for code in named:
                    out.setdefault(code, (mine[0], sentence))
    return out


def _identifiers(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "identifier":
            yield n
        elif n.type != "call_expression" or n.child_by_field_name("arguments") is None:
            stack.extend(n.named_children)
        else:
            stack.append(n.child_by_field_name("arguments"))


def _binary_nodes(node):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "binary_expression":
            yield n
        stack.extend(n.named_children)


class LoopFacts:
    """The loops of one region, in document order, given its TDX facts
    (the tests that decide each loop are worked out when first asked for)."""

    def __init__(self, tdx: TdxFacts):
        self.tdx = tdx
        self.region = tdx.region

    @cached_property
    def all(self) -> list[Loop]:
        region = self.region
        found = []  # (node, kind, span, condition, back_edge)
        for node in region.find(*LOOP_TYPES):
            kind = {"while_statement": "while", "do_statement": "do", "for_statement": "for"}[node.type]
            found.append((node, kind, (node.start_byte, node.end_byte), node.child_by_field_name("condition"), None))
        labels = {}
        for lab in region.find("labeled_statement"):
            name = lab.child_by_field_name("label")
            if name is not None:
                labels[(_function_id(region, lab), region.text(name))] = lab
        back_edges: set[int] = set()
        for jump in region.find("goto_statement"):
            name = jump.child_by_field_name("label")
            lab = labels.get((_function_id(region, jump), region.text(name))) if name is not None else None
            if lab is not None and lab.start_byte < jump.start_byte:
                found.append((lab, "goto", (lab.start_byte, jump.end_byte), None, jump))
                back_edges.add(jump.start_byte)
        found.sort(key=lambda f: (f[2][0], -f[2][1]))
        sweep = _LoopSweep(self.tdx, [(kind, span, node) for node, kind, span, _c, _b in found], back_edges)
        return [Loop(sweep, i, node, kind, span, condition, back_edge)
                for i, (node, kind, span, condition, back_edge) in enumerate(found)]

    def retry_loops(self) -> list[Loop]:
        """Loops that re-issue a TDX call and go round again on a status."""
        return [lp for lp in self.all if lp.reissues and lp.retried is not None and lp.codes]

    def innermost(self, byte: int) -> Loop | None:
        """The innermost loop around a byte offset."""
        loops = self.all
        index = loops[0]._sweep.innermost(byte) if loops else None
        return loops[index] if index is not None else None

    @cached_property
    def _deciding(self) -> dict:
        """The expressions deciding a loop's next round -> that loop."""
        return {(n.start_byte, n.end_byte, n.type): lp for lp in self.all for n in lp.deciding()}

    def decided_by(self, node) -> Loop | None:
        """The loop whose next round the expression node helps decide, if any."""
        return _innermost_key(node, self._deciding) if self.all else None


class _LoopSweep:
    """What the loops of a region share: the jumps that leave each or go
    round again (found in one sweep, when a loop's tests are first asked
    for: most loops issue no TDX call), the counters updated in the region,
    and how the loops nest. It knows the loops by their index only."""

    def __init__(self, tdx: TdxFacts, loops: list[tuple], back_edges: set[int]):
        self.tdx = tdx
        self.region = tdx.region
        self._loops = loops  # (kind, span, node), sorted by start, outer first
        self._back_edges = back_edges
        self._jumps: list[tuple[list, list]] | None = None

    def jumps(self, index: int) -> tuple[list, list]:
        """(exit tests, continue tests) of a loop."""
        if self._jumps is None:
            self._jumps = [([], []) for _ in self._loops]
            self._attribute_jumps()
        return self._jumps[index]

    def innermost(self, byte: int) -> int | None:
        """The index of the innermost loop around a byte offset (loops are
        sorted by start, and their spans nest)."""
        found = None
        for i, (_kind, span, _node) in enumerate(takewhile(lambda lp: lp[1][0] <= byte, self._loops)):
            found = i if byte < span[1] else found
        return found

    @cached_property
    def _claim_comments(self) -> dict[int, list]:
        """loop index -> the comments that speak for it when it comes to
        how it ends: the comment right above it (at most CLAIM_GAP rows of
        setup in between, and no other loop) and those directly inside it.
        Each comment speaks for one loop."""
        region = self.region
        out: dict[int, list] = {}
        taken: set[int] = set()
        starts = [span[0] for _kind, span, _node in self._loops]
        for index, (_kind, span, node) in enumerate(self._loops):
            for c in region.comment_above(node, CLAIM_GAP):
                if c.node.start_byte >= span[0] or c.node.start_byte in taken:
                    continue
                if any(c.node.end_byte <= other < span[0] for other in starts):
                    break  # another loop stands between
                out.setdefault(index, []).append(c)
                taken.add(c.node.start_byte)
                break
        for index, (_kind, span, _node) in enumerate(self._loops):
            for c in region.comments_between(*span):
                if c.node.start_byte not in taken and self.innermost(c.node.start_byte) == index:
                    out.setdefault(index, []).append(c)
                    taken.add(c.node.start_byte)
        return out

    def claim_comments(self, index: int) -> list:
        return self._claim_comments.get(index, [])

    def _attribute_jumps(self) -> None:
        """Give each loop the if-tests (and switch cases) that leave it or
        go round again, in one sweep over the jump statements."""
        region = self.region
        if not self._loops:
            return
        jumps = region.find("break_statement", "continue_statement", "return_statement",
                            "goto_statement")
        stack: list[int] = []
        order = iter(range(len(self._loops)))
        pending = next(order, None)
        for jump in jumps:
            pos = jump.start_byte
            while pending is not None and self._loops[pending][1][0] <= pos:
                while stack and self._loops[stack[-1]][1][1] <= self._loops[pending][1][0]:
                    stack.pop()
                stack.append(pending)
                pending = next(order, None)
            while stack and self._loops[stack[-1]][1][1] <= pos:
                stack.pop()
            if not stack:
                continue
            index = next((i for i in reversed(stack) if self._loops[i][0] != "goto"), None)
            if index is not None:
                self._classify_jump(index, jump)

    def _classify_jump(self, index: int, jump) -> None:
        region = self.region
        loop_node = self._loops[index][2]
        exits, continues = self._jumps[index]
        if jump.type == "goto_statement" and jump.start_byte in self._back_edges:
            return  # the jump that makes a goto loop, not a way out of one
        # Walk up to the loop: a switch in between owns a break; the first
        # if whose consequence holds the jump is the test.
        node, guard, switch_case = jump, None, None
        while node is not None and node != loop_node:
            parent = node.parent
            if parent is None:
                break
            if parent.type in LOOP_TYPES and parent != loop_node:
                return  # a nested loop the sweep did not see as innermost
            if parent.type == "switch_statement" and jump.type == "break_statement":
                return  # breaks the switch, not the loop
            if parent.type == "case_statement" and switch_case is None:
                switch_case = parent
            if parent.type == "if_statement" and guard is None and \
                    parent.child_by_field_name("consequence") == node:
                guard = parent
            node = parent
        if jump.type == "continue_statement":
            if switch_case is not None and (guard is None or guard.start_byte < switch_case.start_byte):
                value = switch_case.child_by_field_name("value")
                code = code_of(region, value) if value is not None else None
                if code is not None:
                    continues.append(_CaseValue(CodeSet(frozenset({code}))))
                return
            if guard is not None:
                continues.append(guard.child_by_field_name("condition"))
            return
        if guard is not None and (switch_case is None or switch_case.start_byte < guard.start_byte):
            exits.append(guard.child_by_field_name("condition"))

    # -- counters ---------------------------------------------------------------------

    @cached_property
    def _updates(self) -> dict[str, list[int]]:
        """name -> sorted start bytes of every ++, --, +=, -= (and x = x +/- n)."""
        region = self.region
        out: dict[str, list[int]] = {}
        for node in region.find("update_expression", "assignment_expression"):
            if node.type == "update_expression":
                target = node.child_by_field_name("argument")
            else:
                op = region.op(node)
                target = node.child_by_field_name("left")
                if op not in ("+=", "-="):
                    right = unwrap(node.child_by_field_name("right"))
                    if op != "=" or right is None or right.type != "binary_expression" or \
                            region.op(right) not in ("+", "-") or target is None or \
                            region.text(unwrap(right.child_by_field_name("left"))) != region.text(target):
                        continue
            if target is not None:
                out.setdefault(region.text(unwrap(target) or target).strip(), []).append(node.start_byte)
        return out

    def updated_within(self, name: str, start: int, end: int) -> bool:
        positions = self._updates.get(name)
        if not positions:
            return False
        i = bisect_left(positions, start)
        return i < len(positions) and positions[i] < end


# Rows of setup (a counter's declaration, a blank line) that may stand
# between a loop and the comment that claims how it ends.
CLAIM_GAP = 4


class _CaseValue(NamedTuple):
    codes: CodeSet
    type: str = "case_value"


def _function_id(region, node) -> int:
    return getattr(region.function_at(node.start_byte), "start_byte", -1)
