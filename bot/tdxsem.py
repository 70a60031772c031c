"""TDX facts, for the rules that need them: what a call issues (a host
SEAMCALL, a guest TDCALL, a TDVMCALL, an errno wrapper), which values hold a
TDX status, what a status test tests, and how a retry loop is bounded and
justified. Facts about TDX, not about any one rule; every analysis is linear
(or n log n) in the size of the region, whatever the nesting.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from functools import cached_property
from typing import NamedTuple

from .csyntax import (LOOP_TYPES, Region, ancestor, call_args, call_name, declared_name,
                      enclosing_function, function_name, unparen, unwrap)
from .lazyre import lazy_re

HOST, GUEST, HYPERCALL, ERRNO = "host", "guest", "hypercall", "errno"

# Calls that issue a SEAMCALL or TDCALL and hand back the raw u64 status.
_HOST_CALL = lazy_re(r"^(?:__)?seamcall(?:_ret|_saved_ret|_dirty_cache)?$|^sc_retry$|"
                     r"^tdh_[a-z0-9_]+$")
_GUEST_CALL = lazy_re(r"^tdg_[a-z0-9_]+$|^__tdcall(?:_ret|_saved_ret)?$|^__tdx_module_call$")
_HYPERCALL = lazy_re(r"^_?_tdx_hypercall$|^tdvmcall_[a-z0-9_]+$")
# Calls that issue one but return an errno (they print the status themselves).
_ERRNO_CALL = lazy_re(r"^seamcall_prerr\w*$|^sc_retry_prerr$")

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
# Names a status variable goes by in TDX code (for a value whose assignment
# is out of sight, e.g. a hunk that starts mid-function).
_STATUS_NAME = lazy_re(r"^(?:err|error|ret|sret|status|tdx_ret|hret|\w*_ret|\w*_err|\w*_status)$")
_WIDE = lazy_re(r"\b(?:u64|uint64_t|__u64|unsigned long long)\b")

_DEADLINE = lazy_re(r"\b(time_before\w*|time_after\w*|time_is_\w+|ktime_\w+|jiffies|"
                    r"timeout|deadline)\b")
_EVENT_EXIT = lazy_re(r"\b(signal_pending|fatal_signal_pending|kvm_vcpu_has_events|"
                      r"need_resched|kthread_should_stop|KVM_REQ_VM_DEAD|vm_dead|"
                      r"kvm_check_request)\b")
# A condition comparing two moving values (next < end): the loop ends on progress.
_RELATIONAL = lazy_re(r"[\w)\]]\s*(?:<=?|>=?)\s*[\w(]")


def call_kind(name: str) -> str | None:
    """What a call issues, by its name alone."""
    if _HOST_CALL.match(name):
        return HOST
    if _GUEST_CALL.match(name):
        return GUEST
    if _HYPERCALL.match(name):
        return HYPERCALL
    if _ERRNO_CALL.match(name):
        return ERRNO
    return None


def is_status_name(name: str) -> bool:
    return bool(_STATUS_CONST.match(name)) and not _NOT_STATUS.match(name) \
        and name not in ("TDX_SW_ERROR", "TDX_ERROR")


def is_status_type(type_text: str | None) -> bool:
    return type_text is not None and bool(_WIDE.search(type_text)) and "*" not in type_text


# ---- codes and tests ----------------------------------------------------------


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
        return sorted(self.codes - {"0"})


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


class Loop:
    """A loop that may re-issue a TDX call: a for/while/do statement or a
    goto back to an earlier label. Properties are worked out on demand."""

    def __init__(self, facts: "TdxFacts", node, kind: str, span: tuple[int, int],
                 condition=None, back_edge=None):
        self.facts = facts
        self.node = node  # the loop statement (the labeled statement for a goto loop)
        self.kind = kind  # "for", "while", "do" or "goto"
        self.span = span  # bytes the loop covers
        self.condition = condition  # the continue condition (None: none, or for (;;))
        self.back_edge = back_edge  # the `goto` of a goto loop
        self.exit_tests: list = []  # if-conditions whose branch leaves the loop
        self.continue_tests: list = []  # conditions (or case values) that go round again

    @property
    def infinite(self) -> bool:
        if self.kind == "goto":
            return False
        if self.condition is None:
            return self.kind == "for"
        return self.facts.region.int_value(self.condition, {}) not in (None, 0)

    @cached_property
    def reissues(self) -> list:
        """The calls in the loop that issue a SEAMCALL/TDCALL/TDVMCALL,
        directly or through a function or macro the patch shows."""
        return self.facts.issuing_calls_within(*self.span)

    @cached_property
    def retried(self) -> CodeSet | None:
        """The statuses on which the loop goes round again (None: the loop
        does not decide on a status)."""
        facts = self.facts
        when = None
        if self.kind == "goto":
            guard = ancestor(self.back_edge, ("if_statement",), stop=self.node)
            if guard is not None:
                when = facts.truth_codes(guard.child_by_field_name("condition"))
            return when
        if self.condition is not None and not self.infinite:
            when = facts.truth_codes(self.condition)
        for test in self.exit_tests:
            leaves = facts.truth_codes(test)
            if leaves is not None:
                stay = leaves.invert()
                when = stay if when is None else when.intersect(stay)
        for test in self.continue_tests:
            again = facts.truth_codes(test) if test.type != "case_value" else test.codes
            if again is not None:
                when = again if when is None else when.union(again)
        return when

    @property
    def codes(self) -> list[str]:
        """The retried statuses, in the order the code names them."""
        if self.retried is None:
            return []
        region = self.facts.region
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
        region = self.facts.region
        texts = [region.text(n) for n in self.deciding()]
        names = {region.text(i) for n in self.deciding()
                 for i in _identifiers(n)}
        for name in sorted(names):
            if self.facts.updated_within(name, *self.span):
                return Bound("counter", name, self._counter_value(name))
        joined = " ".join(texts)
        if _DEADLINE.search(joined):
            return Bound("deadline", None, None)
        if _EVENT_EXIT.search(joined):
            return Bound("event", None, None)
        cond = region.text(self.condition) if self.condition is not None else ""
        if _RELATIONAL.search(cond):
            return Bound("progress", None, None)
        return None

    def _counter_value(self, name: str) -> int | None:
        """The number of rounds a counter allows, where it is a constant."""
        region = self.facts.region
        for node in self.deciding():
            for sub in _binary_nodes(node):
                if region.op(sub) in ("<", "<=", ">", ">=", "!=", "=="):
                    for side in (sub.child_by_field_name("left"), sub.child_by_field_name("right")):
                        value = region.int_value(side)
                        if value is not None and value > 1:
                            return value
        func = enclosing_function(self.node) or region.root
        for init in region.find("init_declarator", "assignment_expression", within=func):
            target = init.child_by_field_name("declarator" if init.type == "init_declarator" else "left")
            if target is not None and region.text(target) == name:
                value = region.int_value(init.child_by_field_name("value" if init.type == "init_declarator"
                                                                  else "right"))
                if value is not None and value > 1:
                    return value
        return None

    @property
    def report_node(self):
        """Where a finding about the loop goes: its condition, else its head."""
        if self.kind == "goto":
            return self.back_edge
        region = self.facts.region
        if self.condition is not None and region.first_added(self.condition) is not None:
            return self.condition
        return self.node

    def comments(self) -> list:
        """Comments that speak for the loop: the nearest one above it and
        the ones inside it (not in loops nested in it)."""
        region = self.facts.region
        near = region.comment_above(self.node)
        above = [c for c in near if c.node.start_byte < self.span[0]][:1]
        inside = [c for c in region.comments_between(*self.span)
                  if self.facts.innermost_loop(c.node.start_byte) is self]
        return above + inside

    def justification(self, code: str) -> str | None:
        """The comment text that argues why retrying on code ends, if any."""
        for comment in self.comments():
            text = justifying_text(comment.prose(), code)
            if text:
                return text
        return None


class Bound(NamedTuple):
    kind: str  # "counter", "deadline", "event" or "progress"
    name: str | None  # the counter
    value: int | None  # the rounds a counter allows, when constant


_JUSTIFICATION = lazy_re(
    r"forward progress|guarantee|lock(?:s|ed)? (?:\w+ )?out|terminat|will (?:eventually )?succeed|"
    r"bounded by|cannot livelock|can'?t livelock|never return|short[- ]lived|serializ|"
    r"makes? progress|always (?:completes|succeeds)|ends? (?:when|once|after)|"
    r"is done|finish(?:es)? within|at most", re.I)
_CLAUSE_JOINER = lazy_re(r"^[\s,/]*(?:and|or|and/or|&|,|/)?[\s,/]*$", re.I)
_SENTENCE = lazy_re(r"(?<=[.!?])\s+(?=[A-Z*-])|\s+(?=(?:- |\* |\d[.)] ))")


def justifying_text(prose: str, code: str) -> str | None:
    """The sentence of prose that names code and argues why retrying on it
    ends. A sentence that names several codes justifies a code only with a
    phrase in that code's own part, or in a part shared by codes that are
    merely listed together ("A and B guarantee forward progress")."""
    short = code.replace("TDX_", "", 1)
    names = (code, short) if short != code else (code,)
    for sentence in _SENTENCE.split(prose):
        hits = [m for m in re.finditer(r"\b[A-Z][A-Z0-9_]{3,}\b", sentence)
                if m.group(0) in names or is_status_name(m.group(0))
                or is_status_name("TDX_" + m.group(0))]
        mine = [i for i, m in enumerate(hits) if m.group(0) in names]
        if not mine:
            continue
        i = mine[0]
        # The part of the sentence that belongs to this code: from it to the
        # next code, stretched over codes that are only listed with it.
        end = i
        while end + 1 < len(hits) and _CLAUSE_JOINER.match(
                sentence[hits[end].end():hits[end + 1].start()]):
            end += 1
        part = sentence[hits[i].start():hits[end + 1].start() if end + 1 < len(hits) else len(sentence)]
        lead = sentence[:hits[0].start()] if all(
            _CLAUSE_JOINER.match(sentence[hits[k].end():hits[k + 1].start()])
            for k in range(len(hits) - 1)) else ""
        if _JUSTIFICATION.search(part) or _JUSTIFICATION.search(lead):
            return sentence.strip()
    return None


# ---- per-patch facts ----------------------------------------------------------


class PatchFacts:
    """What the C files of one patch say about functions and macros: which
    issue a TDX call (and return its status or an errno), which test a
    status for a code. Shared by every region of the patch."""

    def __init__(self, regions: list[Region]):
        self.wrappers: dict[str, str] = {}
        self.issuers: set[str] = set()  # functions and macros that issue a TDX call at all
        self.helpers: dict[str, Helper] = {}
        self.maskers: set[str] = set(MASKING_CALLS)  # functions returning a masked status
        for _ in range(3):  # wrappers of wrappers, a few levels deep
            before = (len(self.wrappers), len(self.issuers), len(self.helpers), len(self.maskers))
            for region in regions:
                self._learn(region)
            if (len(self.wrappers), len(self.issuers), len(self.helpers), len(self.maskers)) == before:
                break

    def kind(self, name: str) -> str | None:
        return call_kind(name) or self.wrappers.get(name)

    def issues(self, name: str) -> bool:
        return self.kind(name) is not None or name in self.issuers

    def _learn(self, region: Region) -> None:
        for func in region.find("function_definition"):
            name = function_name(func)
            if not name or call_kind(name):
                continue
            calls = [c for c in region.find("call_expression", within=func)]
            kinds = [self.kind(call_name(c)) for c in calls]
            if any(kinds) or any(call_name(c) in self.issuers for c in calls):
                self.issuers.add(name)
            returns = self._returned_kind(region, func)
            if returns and is_status_type(region.return_type(func)):
                self.wrappers.setdefault(name, returns)
            helper = self._helper_test(region, func)
            if helper is not None:
                self.helpers.setdefault(name, helper)
            returns = region.find("return_statement", within=func)
            if len(returns) == 1 and returns[0].named_children and \
                    is_masked(region, returns[0].named_children[0], self.maskers):
                self.maskers.add(name)
        for node in region.find("preproc_function_def"):
            name_node, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name_node is None or value is None:
                continue
            name = region.text(name_node)
            if call_kind(name):
                continue
            called = re.findall(r"\b([A-Za-z_]\w*)\s*\(", region.text(value))
            kinds = [self.kind(c) for c in called if c != name]
            status_kinds = [k for k in kinds if k in (HOST, GUEST, HYPERCALL)]
            if status_kinds:
                self.wrappers.setdefault(name, status_kinds[0])
            elif any(kinds) or any(c in self.issuers for c in called):
                self.issuers.add(name)

    def _returned_kind(self, region: Region, func) -> str | None:
        """The kind of TDX call whose status func returns (directly, or
        through a local assigned from it)."""
        assigned: dict[str, str] = {}
        for node in region.find("init_declarator", "assignment_expression", within=func):
            value = unwrap(node.child_by_field_name("value" if node.type == "init_declarator" else "right"))
            target = node.child_by_field_name("declarator" if node.type == "init_declarator" else "left")
            if value is not None and value.type == "call_expression" and target is not None:
                kind = self.kind(call_name(value))
                if kind in (HOST, GUEST, HYPERCALL):
                    assigned[region.text(target)] = kind
        for ret in region.find("return_statement", within=func):
            value = unwrap(ret.named_children[0]) if ret.named_children else None
            if value is None:
                continue
            if value.type == "call_expression":
                kind = self.kind(call_name(value))
                if kind in (HOST, GUEST, HYPERCALL):
                    return kind
            elif value.type == "identifier" and region.text(value) in assigned:
                return assigned[region.text(value)]
        return None

    def _helper_test(self, region: Region, func) -> Helper | None:
        """A bool function whose body is one return of a one-code status test."""
        if "bool" not in (region.return_type(func) or ""):
            return None
        returns = region.find("return_statement", within=func)
        if len(returns) != 1 or not returns[0].named_children:
            return None
        tests = single_code_tests(region, returns[0].named_children[0], self)
        if len(tests) == 1 and tests[0].op in ("==", "helper", "class"):
            return Helper(tests[0].code, tests[0].masked)
        return None


def single_code_tests(region: Region, expr, facts: "PatchFacts") -> list[StatusTest]:
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


def status_test(region: Region, node, facts: "PatchFacts") -> StatusTest | None:
    """node as a test of one status code, or None."""
    if node.type == "binary_expression" and region.op(node) in ("==", "!="):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        for const, value in ((right, left), (left, right)):
            code = code_of(region, const)
            if code is not None:
                inner = unparen(value)
                if code in ("TDX_SW_ERROR", "TDX_ERROR") and not masked_with(region, inner, code):
                    continue
                masked = is_masked(region, inner, facts.maskers)
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
    return None


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


# ---- per-region facts -------------------------------------------------------------


class TdxFacts:
    """The TDX facts of one region, given what the whole patch shows."""

    def __init__(self, region: Region, patch_facts: PatchFacts):
        self.region = region
        self.patch = patch_facts

    # -- calls ---------------------------------------------------------------

    def kind(self, call) -> str | None:
        return self.patch.kind(call_name(call))

    @cached_property
    def _calls(self) -> list:
        """(start byte, call) of every call that issues a TDX call, in order."""
        return [(c.start_byte, c) for c in self.region.find("call_expression")
                if self.patch.issues(call_name(c))]

    def status_calls(self, *kinds: str) -> list:
        """Calls whose result is a raw TDX status (of the given kinds)."""
        kinds = kinds or (HOST, GUEST, HYPERCALL)
        return [c for _, c in self._calls if self.kind(c) in kinds]

    def issuing_calls_within(self, start: int, end: int) -> list:
        starts = [s for s, _ in self._calls]
        i = bisect_left(starts, start)
        out = []
        while i < len(self._calls) and self._calls[i][0] < end:
            out.append(self._calls[i][1])
            i += 1
        return out

    # -- status values ---------------------------------------------------------

    @cached_property
    def _assigned_status(self) -> dict:
        """(scope start byte, name) -> kind, for every local or field the
        region assigns a status to."""
        out = {}
        for node in self.region.find("init_declarator", "assignment_expression"):
            is_init = node.type == "init_declarator"
            value = unwrap(node.child_by_field_name("value" if is_init else "right"))
            target = node.child_by_field_name("declarator" if is_init else "left")
            if value is None or target is None or value.type != "call_expression":
                continue
            kind = self.kind(value)
            if kind in (HOST, GUEST, HYPERCALL):
                scope = enclosing_function(node)
                out[(scope.start_byte if scope is not None else -1, self.region.text(target))] = kind
                if target.type == "field_expression":
                    out[(-2, self.region.text(target))] = kind
        return out

    def holds_status(self, node) -> bool:
        """Does node hold a raw TDX status: a status call, a local or field
        assigned one, or a u64 named like a status (err, ret, status, ...)?"""
        return self.status_kind(node) is not None

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
        scope = enclosing_function(node)
        key = (scope.start_byte if scope is not None else -1, text)
        kind = self._assigned_status.get(key) or self._assigned_status.get((-2, text))
        if kind is not None:
            return kind
        if node.type == "identifier":
            type_text = region.declared_type(scope or region.root, text)
            return "u64" if is_status_type(type_text) and _STATUS_NAME.match(text) else None
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
            for node in region.find("binary_expression", "call_expression"):
                test = status_test(region, node, self.patch)
                if test is not None:
                    memo.append(test)
            self.__dict__["_tests"] = memo
        return memo

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
        if self.holds_status(node):  # while (ret): any failure
            return CodeSet(frozenset({"TDX_SUCCESS"}), True)
        return None

    # -- loops ----------------------------------------------------------------------

    @cached_property
    def loops(self) -> list[Loop]:
        """Every loop of the region, in document order, with the tests that
        decide each one worked out in one sweep over the region."""
        region = self.region
        loops: list[Loop] = []
        self._back_edges: set[int] = set()
        for node in region.find(*LOOP_TYPES):
            kind = {"while_statement": "while", "do_statement": "do", "for_statement": "for"}[node.type]
            loops.append(Loop(self, node, kind, (node.start_byte, node.end_byte),
                              node.child_by_field_name("condition")))
        labels = {}
        for lab in region.find("labeled_statement"):
            name = lab.child_by_field_name("label")
            if name is not None:
                labels[(id_of_function(lab), region.text(name))] = lab
        for jump in region.find("goto_statement"):
            name = jump.child_by_field_name("label")
            lab = labels.get((id_of_function(jump), region.text(name))) if name is not None else None
            if lab is not None and lab.start_byte < jump.start_byte:
                loops.append(Loop(self, lab, "goto", (lab.start_byte, jump.end_byte), back_edge=jump))
                self._back_edges.add(jump.start_byte)
        loops.sort(key=lambda lp: (lp.span[0], -lp.span[1]))
        self._attribute_jumps(loops)
        return loops

    def innermost_loop(self, byte: int) -> Loop | None:
        """The innermost loop around a byte offset."""
        found = None
        for lp in self.loops:  # sorted by start; spans nest
            if lp.span[0] > byte:
                break
            if byte < lp.span[1]:
                found = lp
        return found

    def _attribute_jumps(self, loops: list[Loop]) -> None:
        """Give each loop the if-tests (and switch cases) that leave it or
        go round again, in one sweep over the jump statements."""
        region = self.region
        if not loops:
            return
        jumps = region.find("break_statement", "continue_statement", "return_statement",
                            "goto_statement")
        stack: list[Loop] = []
        order = iter(loops)
        pending = next(order, None)
        for jump in jumps:
            pos = jump.start_byte
            while pending is not None and pending.span[0] <= pos:
                while stack and stack[-1].span[1] <= pending.span[0]:
                    stack.pop()
                stack.append(pending)
                pending = next(order, None)
            while stack and stack[-1].span[1] <= pos:
                stack.pop()
            if not stack:
                continue
            loop = next((lp for lp in reversed(stack) if lp.kind != "goto"), None)
            if loop is None:
                continue
            self._classify_jump(loop, jump)

    def _classify_jump(self, loop: Loop, jump) -> None:
        region = self.region
        kind = jump.type
        if kind == "goto_statement" and jump.start_byte in self._back_edges:
            return  # the jump that makes a goto loop, not a way out of one
        # Walk up to the loop: a switch in between owns a break; the first
        # if whose consequence holds the jump is the test.
        node, guard, switch_case = jump, None, None
        while node is not None and node != loop.node:
            parent = node.parent
            if parent is None:
                break
            if parent.type in LOOP_TYPES and parent != loop.node:
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
                    loop.continue_tests.append(_CaseValue(CodeSet(frozenset({code}))))
                return
            if guard is not None:
                loop.continue_tests.append(guard.child_by_field_name("condition"))
            return
        if guard is not None and (switch_case is None or switch_case.start_byte < guard.start_byte):
            loop.exit_tests.append(guard.child_by_field_name("condition"))

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

    def retry_loops(self) -> list[Loop]:
        """Loops that re-issue a TDX call and go round again on a status."""
        return [lp for lp in self.loops if lp.reissues and lp.retried is not None and lp.codes]


class _CaseValue(NamedTuple):
    codes: CodeSet
    type: str = "case_value"


def id_of_function(node) -> int:
    func = enclosing_function(node)
    return func.start_byte if func is not None else -1


def declared_status_params(region: Region, func) -> list[str]:
    """Parameters of func that carry a status (u64 named err, status, ...)."""
    out = []
    declarator = func.child_by_field_name("declarator")
    while declarator is not None and declarator.type != "function_declarator":
        declarator = declarator.child_by_field_name("declarator")
    params = declarator.child_by_field_name("parameters") if declarator is not None else None
    for p in (params.named_children if params is not None else []):
        if p.type != "parameter_declaration":
            continue
        name = declared_name(p.child_by_field_name("declarator"))
        tnode = p.child_by_field_name("type")
        if name and tnode is not None and is_status_type(region.text(tnode)) and _STATUS_NAME.match(name):
            out.append(name)
    return out
