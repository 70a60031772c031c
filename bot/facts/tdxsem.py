"""TDX facts, for the rules that need them: what a call issues (a host
SEAMCALL, a guest TDCALL, a TDVMCALL, an errno wrapper), which values hold a
TDX status, what a status test tests, and how a retry loop is bounded and
justified. Facts about TDX, not about any one rule; every analysis is linear
(or n log n) in the size of the region, whatever the nesting.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache

from .csyntax import Region, call_args, call_name, function_name, unwrap
from ..common.kept import cached_property
from ..common.lazyre import lazy_re
from .tdxcodes import BUSY_CODES, DETAIL_STATUSES, MASKING_CALLS, MASKS, SW_FULL_CODES, CodeSet, Helper, StatusTest, code_of, is_masked, is_status_name, is_status_type, masked_with, single_code_tests, status_test, helper_for
from .tdxloops import Bound, Loop, LoopFacts, justifying_text  # noqa: F401

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
_IS_HELPER = lazy_re(r"\b(IS_TDX_[A-Z0-9_]+)\s*\(")
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


# ---- per-patch facts ----------------------------------------------------------


class PatchFacts:
    """What the C files of one patch say about functions and macros: which
    issue a TDX call (and return its status or an errno), which test a
    status for a code. Shared by every region of the patch.

    Each function and macro is read once into a small record (the names it
    calls, what it returns); wrappers of wrappers are then resolved on those
    records, not by reading the trees again."""

    def __init__(self, regions: list[Region]):
        self.wrappers: dict[str, str] = {}
        self.issuers: set[str] = set()  # functions and macros that issue a TDX call at all
        self.helpers: dict[str, Helper] = {}
        self.maskers: set[str] = set(MASKING_CALLS)  # functions returning a masked status
        self._regions = regions
        records = []
        for region in regions:
            records += self._read(region)
        for _ in range(4):  # wrappers of wrappers, a few levels deep
            if not self._resolve(records):
                break

    @cached_property
    def masking_in_sight(self) -> tuple[frozenset[str], str | None]:
        """The IS_TDX_*() helpers and the status mask the patch's code
        uses: what a suggested fix may use (and nothing else)."""
        helpers: set[str] = set()
        mask = None
        for region in self._regions:
            text = "\n".join(region.lines)
            helpers.update(_IS_HELPER.findall(text))
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
            for name in region._declarators:
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
            if not name or call_kind(name):
                continue
            calls = {c.name for c in region.calls(within=func)}
            assigned = {region.text(a.target): a.callee for a in region.assignments(within=func)
                        if a.call is not None and a.target is not None}
            returns = region.returns(within=func)
            returned = []
            for ret in returns:
                if ret.call is not None:
                    returned.append(("call", ret.callee))
                elif (value := unwrap(ret.value)) is not None and value.type == "identifier":
                    returned.append(("var", region.text(value)))
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
            if name_node is None or value is None or call_kind(region.text(name_node)):
                continue
            name = region.text(name_node)
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


class TdxFacts(LoopFacts):
    """The TDX facts of one region, given what the whole patch shows (its
    loops come from LoopFacts)."""

    def __init__(self, region: Region, patch_facts: PatchFacts):
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

    @cached_property
    def _deciding(self) -> dict:
        """The expressions deciding a loop's next round -> that loop."""
        return {(n.start_byte, n.end_byte, n.type): lp for lp in self.loops for n in lp.deciding()}

    def use_of(self, node) -> tuple[StatusTest | None, object]:
        """How the expression node is used: (the status test it is part of,
        if any; the loop whose next round it decides, if any)."""
        memo = self.__dict__.setdefault("_uses", {})
        start = (node.start_byte, node.end_byte, node.type)
        if start in memo:
            return memo[start]
        test, loop = None, None
        while node is not None and node.type not in _STATEMENT_TYPES:
            key = (node.start_byte, node.end_byte, node.type)
            test = test or self._tests_by_node.get(key)
            loop = loop or self._deciding.get(key)
            node = node.parent
        memo[start] = test, loop
        return test, loop

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
