"""The TDX module's ABI, for the rules that need it: leaf numbers, status
values, and which statuses each leaf can return.

The facts come from tdx_module.json, which tools/tdx_module_facts.py
generates from Intel's public TDX module source (see its docstring for what
is read and what is approximated) plus a kernel section read from a Linux
tree. This module gives them meaning:

- Abi (module_abi(), one per process): a leaf by kernel name (TDH_MEM_PAGE_AUG)
  or spec name (TDH.MEM.PAGE.AUG), by number, or by the tdh_*()/tdg_*()
  wrapper that issues it; a status by name or by value; operand IDs and the
  TDX_FEATURES0 bits.
- Leaf: what a caller of the leaf can get back, and how sure the data is of
  each status: "direct" (its handler yields it), "dispatcher" (the
  dispatcher yields it before the handler runs, or rewrites another status
  into it), "helper" (a function the handler calls yields it; the chain is
  kept); and whether the lists are complete enough to say "never".
- AbiFacts (one per region, `code.abi` in the rule kit): the leaf a call
  issues (seamcall*(TDH_X, ...), __tdcall*(TDG_X, ...), the tdh_*()/tdg_*()
  wrappers, the wrappers the patch itself defines) and the leaves whose
  status a tested value holds.

Newer than the data means quiet: a leaf or status the data does not have is
None here, and rules say nothing about it (TDH.SYS.DISABLE, leaf 69, is newer
than the public module source).

The file is read when a question first needs it, not on import: `tdxbot
b4-check` starts once per patch, and most patches ask nothing of it. Even
then only the part asked for is decoded (the file is written canonically,
with sorted keys and one-space indents, which the tests hold it to).
"""
from __future__ import annotations

import json
import os
from bisect import bisect_left

from ..common import NamedTuple, cached_property, lazy_re
from .c import Region, ancestor, call_args, iter_nodes, unwrap
from .tdx import SW_FULL_CODES, TdxFacts, code_of, is_masked

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tdx_module.json")

# Statuses a caller waits out: contention (the busy statuses, bits 47:40 = 2)
# and a long leaf stopped by an interrupt, to be called again to go on.
BUSY = frozenset({"TDX_OPERAND_BUSY", "TDX_SYS_BUSY", "TDX_PREVIOUS_TLB_EPOCH_BUSY"})
TRANSIENT = BUSY | {"TDX_INTERRUPTED_RESUMABLE"}

# Never claimed either way. TDX_OPERAND_BUSY_HOST_PRIORITY comes from the
# module's host-priority lock helpers, but only a guest leaf ever gets it and
# the guest dispatcher turns it into TDX_OPERAND_BUSY, so no caller sees it;
# the data's path-insensitive reading lists it for host leaves too.
UNSEEN = frozenset({"TDX_OPERAND_BUSY_HOST_PRIORITY"})

# Kernel values that differ from the 1.5.01 module source on purpose: newer
# kernels (KVM's tdx_errno.h, later <asm/shared/tdx_errno.h>) write these
# without a bit the module sets (bit 61, "fatal", of TDX_NON_RECOVERABLE_TD;
# bit 63, "error", of TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE), following the
# published ABI spec. Which is right is for a newer module source to settle;
# until then a define with either value is accepted.
# tests/test_tdx_module_facts.py keeps this table and its own in step.
KERNEL_VALUES = {
    "TDX_NON_RECOVERABLE_TD": 0x4000000200000000,
    "TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE": 0x6000000700000000,
}
# Kernel operand-ID names that differ from the module's OPERAND_ID_* names.
OPERAND_ALIASES = {"TDX_OPERAND_ID_SEPT": "OPERAND_ID_SEPT_TREE"}

# A helper chain at most this long (the handler calls it, or one step
# further) is taken as sure as a direct status; longer chains are not used
# to say "can also return". So is any chain through a lock helper.
_SURE_CHAIN = 2
_LOCK = lazy_re(r"lock")
_LEAF_NAME = lazy_re(r"^TD[HG]_[A-Z0-9_]+$")


# ---- the data file ------------------------------------------------------------------


class _Store:
    """tdx_module.json, decoded a piece at a time: the text is read once, and
    an entry of a section (one leaf, one status) is decoded when asked for.
    Relies on the canonical layout (sorted keys, one space per level); when
    a section cannot be found that way, the whole file is decoded."""

    def __init__(self, path: str):
        with open(path, encoding="utf-8") as fh:
            self.text = fh.read()
        self._decoder = json.JSONDecoder()
        self._full = None
        self._sections: dict[tuple, tuple[int, int] | None] = {}

    def _whole(self) -> dict:
        if self._full is None:
            self._full = json.loads(self.text)
        return self._full

    def _span(self, path: tuple[str, ...]) -> tuple[int, int] | None:
        """(start, end) of the value at path, a dict whose entries sit one
        level deeper; None when the layout does not show it."""
        if path in self._sections:
            return self._sections[path]
        lo, hi = 0, len(self.text)
        found = None
        for depth, key in enumerate(path, start=1):
            at = self.text.find("\n" + " " * depth + json.dumps(key) + ": {", lo, hi)
            if at < 0:
                break
            start = self.text.index("{", at + depth + len(key) + 3)
            end = self.text.find("\n" + " " * depth + "}", start, hi)
            if end < 0:
                break
            lo, hi = start, end + depth + 2
        else:
            found = (lo, hi)
        self._sections[path] = found
        return found

    def entry(self, path: tuple[str, ...], key: str):
        """section[key] (None when absent)."""
        span = self._span(path)
        if span is None:
            return self.section(path).get(key)
        prefix = "\n" + " " * (len(path) + 1) + json.dumps(key) + ": "
        at = self.text.find(prefix, span[0], span[1])
        if at < 0:
            return None
        return self._decoder.raw_decode(self.text, at + len(prefix))[0]

    def section(self, path: tuple[str, ...]) -> dict:
        span = self._span(path)
        if span is None:
            value = self._whole()
            for key in path:
                value = value.get(key, {})
            return value
        return self._decoder.raw_decode(self.text, span[0])[0]


_ABI: "Abi | None" = None


def module_abi() -> "Abi":
    """The TDX module ABI data (read on the first call)."""
    global _ABI
    if _ABI is None:
        _ABI = Abi(_Store(DATA_FILE))
    return _ABI


# ---- records ----------------------------------------------------------------------


class Status(NamedTuple):
    name: str  # the kernel name (TDX_OPERAND_BUSY)
    value: int  # the status as the module returns it, detail bits 31:0 clear
    klass: int  # bits 47:40
    details: int  # bits 39:32
    error: bool  # bit 63
    non_recoverable: bool  # bit 62

    @property
    def hex(self) -> str:
        return "0x%016X" % self.value


class Gate(NamedTuple):
    """A TDX_FEATURES0 bit a leaf needs: without it the leaf fails."""
    feature: str  # the kernel-style name (TDX_FEATURES0_LOCAL_ATTESTATION)
    bit: int
    fails_with: tuple[str, ...]  # the statuses the leaf returns without it


class Leaf:
    """One leaf and what a caller of it can get back."""

    def __init__(self, name: str, raw: dict, dispatcher: dict[str, str], translations: dict[str, str]):
        self.name = name  # TDH_MEM_PAGE_AUG
        self.spec_name = raw.get("spec_name", name.replace("_", "."))  # TDH.MEM.PAGE.AUG
        self.kind = raw.get("kind")  # "host" or "guest"
        self.number = raw.get("number")
        self.handled = raw.get("handler") is not None
        self.max_version = raw.get("max_version")
        direct = set(raw.get("direct", ()))
        helper = dict(raw.get("via_helper", {}))
        exits = set(raw.get("via_td_exit", {})) | set(raw.get("via_l2_exit", {}))
        # What the dispatcher adds, and what it rewrites (a status the leaf
        # yields is seen as its rewrite, with the same certainty).
        self._source: dict[str, str] = {}
        for status in sorted(exits):
            self._source[status] = "exit"
        for status in helper:
            self._source[status] = "helper"
        for status in direct:
            self._source[status] = "direct"
        for old, new in translations.items():
            if old in self._source:
                certainty = self._source.pop(old)
                if self._source.get(new) != "direct":
                    self._source[new] = certainty
                if old in helper:
                    helper.setdefault(new, helper[old])
        if self.handled:
            for status, certainty in dispatcher.items():
                self._source.setdefault(status, certainty)
        for status in UNSEEN:
            self._source.pop(status, None)
        self._chains = helper
        # Lists complete enough to say "never": a handler whose every reached
        # function was read, and no results computed on the way out of a TD
        # (TDH.VP.ENTER and TDG.VP.ENTER report exits the data cannot list).
        self.complete = self.handled and not raw.get("unread") and not exits and "unread" in raw
        gate = raw.get("feature_gate")
        self.gate = Gate(gate["kernel_style"], gate["bit"], tuple(gate.get("status_if_absent", ()))) \
            if gate else None

    def __repr__(self):
        return f"Leaf({self.spec_name})"

    @property
    def statuses(self) -> frozenset[str]:
        """Every status a caller can get back (TDX_SUCCESS aside)."""
        return frozenset(self._source)

    def source(self, status: str) -> str | None:
        """How the data knows the leaf returns status: "direct",
        "dispatcher", "helper", "exit" (an exit path of an ENTER leaf), or
        None when it does not."""
        return self._source.get(status)

    def returns(self, status: str) -> bool:
        return status in self._source

    def surely_returns(self, status: str) -> bool:
        """Returned directly, by the dispatcher, or through a short or
        lock-taking helper chain: sure enough to say "can also return"."""
        how = self._source.get(status)
        if how in ("direct", "dispatcher"):
            return True
        chain = self._chains.get(status)
        return how == "helper" and chain is not None and (
            len(chain) <= _SURE_CHAIN or any(_LOCK.search(f) for f in chain))

    def never_returns(self, status: str) -> bool:
        """The data is complete for this leaf and lists no such status."""
        return self.complete and status not in self._source and status not in UNSEEN

    def chain(self, status: str) -> tuple[str, ...]:
        """The module functions a helper-returned status comes through."""
        return tuple(self._chains.get(status, ()))


class Abi:
    """The module data: leaves, statuses, operand IDs, features."""

    def __init__(self, store: _Store):
        self._store = store
        self._leaves: dict[str, Leaf | None] = {}

    @cached_property
    def source(self) -> str:
        """The module release the facts were read from ("TDX module 1.5.01")."""
        src = self._store.entry(("module",), "source") or {}
        tags = [t for t in src.get("tags", ()) if t.startswith("TDX_")]
        return "TDX module " + (tags[0][4:] if tags else src.get("commit", "?")[:12])

    @cached_property
    def _dispatch(self) -> dict[str, tuple[list, dict]]:
        """kind ("host", "guest") -> (the dispatcher's checks, its rewrites
        {from: to})."""
        out = {}
        for kind, d in (self._store.section(("module", "dispatcher")) or {}).items():
            translations = {t["from"]: t["to"] for t in d.get("translations", ())}
            out[kind] = (d.get("checks", ()), translations)
        return out

    def _dispatcher_statuses(self, kind: str, name: str) -> dict[str, str]:
        """The statuses a dispatcher yields for a leaf before its handler runs."""
        checks, translations = self._dispatch.get(kind, ((), {}))
        rewritten = set(translations.values())
        out = {}
        for check in checks:
            status = check["status"]
            if check.get("via") or check.get("unknown_leaf") or status in rewritten:
                continue  # a TD exit, the default case, or a rewrite (applied per leaf)
            if name in check.get("except", ()) or ("only" in check and name not in check["only"]):
                continue
            out[status] = "dispatcher"
        return out

    def leaf(self, name: str | None) -> Leaf | None:
        """A leaf by kernel name (TDH_SYS_CONFIG) or spec name (TDH.SYS.CONFIG)."""
        if not name:
            return None
        name = name.replace(".", "_")
        if name not in self._leaves:
            raw = self._store.entry(("module", "leaves"), name) if _LEAF_NAME.match(name) else None
            if raw is None:
                self._leaves[name] = None
            else:
                kind = raw.get("kind", "host")
                translations = self._dispatch.get(kind, ((), {}))[1]
                self._leaves[name] = Leaf(name, raw, self._dispatcher_statuses(kind, name), translations)
        return self._leaves[name]

    @cached_property
    def _numbers(self) -> dict[tuple[str, int], str]:
        return {(v.get("kind"), v.get("number")): k for k, v in self._store.section(("module", "leaves")).items()}

    def leaf_numbered(self, kind: str, number: int) -> Leaf | None:
        """The leaf of a kind ("host" or "guest") with a number."""
        return self.leaf(self._numbers.get((kind, number)))

    @cached_property
    def _callers(self) -> dict[str, str]:
        """kernel function -> the one leaf it issues (from the kernel section)."""
        by_function: dict[str, set[str]] = {}
        for leaf, functions in (self._store.section(("kernel", "callers")) or {}).items():
            for f in functions:
                by_function.setdefault(f, set()).add(leaf)
        return {f: leaves.pop() for f, leaves in by_function.items() if len(leaves) == 1}

    def wrapper(self, function: str) -> Leaf | None:
        """The leaf a kernel wrapper issues: by the kernel map in the data,
        else by its name (tdh_mem_page_aug() issues TDH.MEM.PAGE.AUG), else
        by the longest leaf name its name extends (tdh_phymem_page_wbinvd_tdr()
        issues TDH.PHYMEM.PAGE.WBINVD)."""
        if function in self._callers:
            return self.leaf(self._callers[function])
        name = function.upper()
        parts = name.split("_")
        for n in range(len(parts), 2, -1):
            found = self.leaf("_".join(parts[:n]))
            if found is not None:
                return found
        return None

    def status(self, name: str | None) -> Status | None:
        """A module status by its kernel name; None for the kernel's own
        SW-defined codes and anything newer than the data."""
        if not name or not name.startswith("TDX_") or name in ("TDX_SUCCESS",):
            return None
        raw = self._store.entry(("module", "statuses"), name)
        if raw is None or raw.get("kernel_name") != name:
            return None
        value = int(raw["value"], 16)
        return Status(name, value, raw.get("class", value >> 40 & 0xFF), raw.get("details_l1", value >> 32 & 0xFF),
                      bool(raw.get("error")), bool(raw.get("non_recoverable")))

    @cached_property
    def _by_value(self) -> dict[int, str]:
        out = {}
        for name, raw in self._store.section(("module", "statuses")).items():
            if raw.get("kernel_name") == name:
                out.setdefault(int(raw["value"], 16), name)
        return out

    def status_valued(self, value: int) -> Status | None:
        """The status with this value (detail bits 31:0 ignored)."""
        return self.status(self._by_value.get(value & 0xFFFFFFFF00000000))

    def accepts_value(self, status: Status, value: int) -> bool:
        """Whether a kernel #define of status with this value agrees with the ABI."""
        return value == status.value or KERNEL_VALUES.get(status.name) == value

    def operand_id(self, kernel_name: str) -> int | None:
        """A TDX_OPERAND_ID_* by kernel name."""
        if not kernel_name.startswith("TDX_OPERAND_ID_"):
            return None
        module = OPERAND_ALIASES.get(kernel_name, "OPERAND_ID_" + kernel_name[len("TDX_OPERAND_ID_"):])
        return self._store.entry(("module", "operand_ids"), module)

    def feature_bit(self, kernel_name: str) -> int | None:
        """The bit of a TDX_FEATURES0_* feature."""
        raw = self._store.entry(("module", "features"), kernel_name)
        return raw.get("bit") if raw else None

    def instead_of(self, leaves, name: str) -> list[str]:
        """What the leaves return in place of status name: for a busy status,
        the busy statuses they return (TDX_SYS_BUSY for TDX_OPERAND_BUSY on a
        TDH.SYS.* leaf); for another, the statuses of its class (bits 47:40)."""
        status = self.status(name)
        if status is None:
            return []
        out = set()
        for leaf in leaves:
            for other in leaf.statuses:
                if other == name:
                    continue
                if name in BUSY:
                    if other in BUSY:
                        out.add(other)
                elif (found := self.status(other)) is not None and found.klass == status.klass:
                    out.add(other)
        return sorted(out)


# ---- what code says ------------------------------------------------------------


class LeafTest(NamedTuple):
    """A test of a status that leaves returned."""
    node: object  # the compare, the helper call, or the case label
    code: str  # the status tested for
    value: object  # the expression holding the status
    refs: frozenset  # the leaves, as the code names them (see TdxFacts.leaf_ref)


_BRANCHES = frozenset({"if_statement", "switch_statement", "case_statement", "conditional_expression",
                       "for_statement", "while_statement", "do_statement", "else_clause"})
_ZERO_STATUS = frozenset({"TDX_SUCCESS"})


class AbiFacts:
    """What the code of one region says about leaves: which leaf each call
    issues, which leaves each tested status came from. The syntactic side
    (refs: leaf constants and wrapper names) needs no data; resolving a ref
    to a Leaf reads it."""

    def __init__(self, tdx: TdxFacts):
        self.tdx = tdx
        self.region: Region = tdx.region

    # -- calls -----------------------------------------------------------------

    def leaf_ref(self, call) -> str | None:
        """The leaf a call names: a TDH_*/TDG_* constant, or a tdh_*()/tdg_*()
        wrapper's name (see TdxPatchFacts.leaf_ref); no data read."""
        memo = self.__dict__.setdefault("_refs", {})
        key = (call.start_byte, call.end_byte)
        if key not in memo:
            memo[key] = self.tdx.patch.leaf_ref(self.region, call)
        return memo[key]

    def leaf_of(self, call) -> Leaf | None:
        """The leaf a call issues, known to the data; None otherwise."""
        return resolve(self.leaf_ref(call))

    # -- statuses -----------------------------------------------------------------

    def value_refs(self, value, at: int) -> frozenset | None:
        """The leaves (as refs) whose status value holds at byte at: the call
        itself, or the calls assigned to the variable that reach at. None
        when any reaching value is not a leaf's status the code names."""
        node = unwrap(value)
        if node is None:
            return None
        if node.type == "assignment_expression":
            node = unwrap(node.child_by_field_name("right"))
            if node is None:
                return None
        if node.type == "call_expression":
            ref = self.leaf_ref(node)
            return frozenset({ref}) if ref else None
        if node.type not in ("identifier", "field_expression"):
            return None
        return self._reaching(self.region.text(node), at)

    def _reaching(self, target: str, at: int) -> frozenset | None:
        region = self.region
        # The function around at; code a hunk shows outside any function
        # (its head out of sight) is read as one.
        func = region.function_at(at) or region.root
        memo = self.__dict__.setdefault("_by_target", {})
        key = (func.start_byte, target)
        if key not in memo:
            memo[key] = [a for a in region.assignments(within=func if func is not region.root else None)
                         if a.target is not None and region.text(a.target) == target
                         and (func is not region.root or region.function_at(a.node.start_byte) is None)]
        assigned = memo[key]
        starts = [a.node.start_byte for a in assigned]
        before = assigned[:bisect_left(starts, at)]
        # Later assignments inside a loop around `at` reach it on the next round.
        loop = ancestor(_node_at(region, at), ("for_statement", "while_statement", "do_statement"), stop=func)
        later = [a for a in assigned[len(before):] if loop is not None and a.node.end_byte <= loop.end_byte
                 and a.node.start_byte >= at]
        refs = set()
        reaching = []
        for a in reversed(before):
            reaching.append(a)
            if _dominates(a.node, at, func):
                break
        else:
            return None  # some path brings a value from before: a parameter, an initial value
        for a in reaching + later:
            if a.call is None:
                if code_of(region, a.value) in _ZERO_STATUS:
                    continue  # `u64 err = 0`: success, no leaf
                return None
            ref = self.leaf_ref(a.call)
            if not ref:
                return None
            refs.add(ref)
        return frozenset(refs) or None

    def tests(self) -> list[LeafTest]:
        """Every status test (compares, helper calls, case labels) of a value
        whose leaves the code names, in document order."""
        memo = self.__dict__.get("_tests")
        if memo is not None:
            return memo
        out = []
        for test in self.tdx.status_tests():
            if test.value is None or test.op == "class":
                continue
            refs = self.value_refs(test.value, test.node.start_byte)
            if refs:
                out.append(LeafTest(test.node, test.code, test.value, refs))
        for switch in self.region.find("switch_statement"):
            cond = switch.child_by_field_name("condition")
            value = _masked_operand(self.region, cond)
            if value is None:
                continue
            cases = [c for c in self.region.find("case_statement", within=switch)
                     if ancestor(c, ("switch_statement",)) == switch]
            codes = [(c, code_of(self.region, c.child_by_field_name("value"))) for c in cases
                     if c.child_by_field_name("value") is not None]
            codes = [(c, code) for c, code in codes if code and code.startswith("TDX_")]
            if not codes:
                continue
            refs = self.value_refs(value, switch.start_byte)
            if refs:
                out += [LeafTest(c.child_by_field_name("value"), code, value, refs) for c, code in codes]
        out.sort(key=lambda t: t.node.start_byte)
        self.__dict__["_tests"] = out
        return out


    def deciding_tests(self, exprs, within=None) -> list[LeafTest] | None:
        """The status tests inside the expressions exprs (a loop's deciding
        tests, an if's condition), and the case labels of the switches
        inside `within` (a loop) whose innermost loop it is. None when one
        of them tests a value whose leaves the code does not name."""
        spans = [(n.start_byte, n.end_byte) for n in exprs if n is not None]
        inside = lambda node: any(a <= node.start_byte and node.end_byte <= b for a, b in spans)
        named = {(t.node.start_byte, t.node.end_byte): t for t in self.tests()}
        out = []
        for test in self.tdx.status_tests():
            if test.op == "class" or not inside(test.node):
                continue
            found = named.get((test.node.start_byte, test.node.end_byte))
            if found is None:
                return None
            out.append(found)
        if within is not None:
            for t in self.tests():
                if t.node.parent is not None and t.node.parent.type == "case_statement" \
                        and within.start_byte <= t.node.start_byte < within.end_byte \
                        and ancestor(t.node, ("for_statement", "while_statement", "do_statement")) == within:
                    out.append(t)
        return out

    def mixed_up_retries(self, loop) -> dict[str, list[str]]:
        """The statuses a retry loop goes round on that its leaf never
        returns while it returns another of the same kind in their place
        (TDX_OPERAND_BUSY on a TDH.SYS.* leaf, whose busy status is
        TDX_SYS_BUSY): each with what the leaf returns instead. A status
        with nothing in its place may come with a newer module, and a leaf
        newer than the data says nothing: both are left out. Such a status
        is a mix-up to name, not a retry whose end needs arguing."""
        retried = loop.retried
        if retried is None or retried.negated:
            return {}
        within = loop.node if loop.kind != "goto" else None
        tests = self.deciding_tests(loop.deciding(), within)
        if not tests:
            return {}
        leaves = resolve_all(frozenset().union(*(t.refs for t in tests)))
        if leaves is None:
            return {}
        out = {}
        for code in sorted(set(retried.codes) - {"0", "TDX_SUCCESS"}):
            if not is_module_status(code):
                continue
            instead = module_abi().instead_of(leaves, code)
            if instead and all(leaf.never_returns(code) for leaf in leaves):
                out[code] = instead
        return out

    def tested_elsewhere(self, code: str, refs: frozenset, node) -> bool:
        """Does the function around node test code on a status of one of
        the same leaves, outside node?"""
        func = self.region.function_at(node.start_byte)
        lo, hi = (func.start_byte, func.end_byte) if func is not None else (0, len(self.region.source))
        return any(t.code == code and t.refs & refs and lo <= t.node.start_byte < hi
                   and not (node.start_byte <= t.node.start_byte < node.end_byte) for t in self.tests())


def resolve(ref: str | None) -> Leaf | None:
    """The Leaf a ref names (a leaf constant or a wrapper's name)."""
    if not ref:
        return None
    abi = module_abi()
    return abi.leaf(ref) if ref[:1].isupper() else abi.wrapper(ref)


def resolve_all(refs) -> list[Leaf] | None:
    """Every ref resolved; None when any is unknown to the data."""
    if not refs:
        return None
    leaves = [resolve(r) for r in sorted(refs)]
    return None if any(leaf is None for leaf in leaves) else leaves


def is_module_status(name: str) -> bool:
    """A status the module returns, as far as the data knows (not the
    kernel's SW-defined codes, not TDX_SUCCESS, not the unseen ones)."""
    return name not in SW_FULL_CODES and name not in UNSEEN and module_abi().status(name) is not None


def _masked_operand(region: Region, cond):
    """The status inside a switch condition: err in (err & MASK) or TDX_STATUS(err)."""
    node = unwrap(cond)
    if node is None:
        return None
    if node.type == "binary_expression" and is_masked(region, node):
        for side in (node.child_by_field_name("left"), node.child_by_field_name("right")):
            inner = unwrap(side)
            if inner is not None and inner.type in ("identifier", "field_expression", "call_expression") \
                    and not region.text(inner).isupper():
                return inner
        return None
    if node.type == "call_expression" and is_masked(region, node) and call_args(node):
        return call_args(node)[0]
    return node if node.type in ("identifier", "field_expression", "call_expression") else None


def _node_at(region: Region, at: int):
    return region.root.descendant_for_byte_range(at, at)


def _dominates(assignment, at: int, func) -> bool:
    """The assignment runs on every path to byte at: nothing between it and
    the statement both share branches (no if, case, loop or ?: holds the
    assignment but not at)."""
    node = assignment.parent
    while node is not None and node != func:
        if node.start_byte <= at < node.end_byte:
            return True
        if node.type in _BRANCHES:
            return False
        node = node.parent
    return True


__all__ = ["Abi", "AbiFacts", "BUSY", "Gate", "Leaf", "LeafTest", "Status", "TRANSIENT", "UNSEEN",
           "is_module_status", "module_abi", "resolve", "resolve_all"]
