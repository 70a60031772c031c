"""Retry loops in TDX code, on syntax nodes: every loop form (for, while,
do-while, a goto back to an earlier label), what it re-issues (directly or
through a helper), the statuses it goes round again on, its bound (a
counter, a deadline, an event, progress) and, for each retried status, the
comment text that argues why retrying ends. The loops of a region are
found in one sweep, and the tests deciding each in one more, when asked."""
from __future__ import annotations

import re
import weakref
from bisect import bisect_left
from itertools import takewhile
from typing import TYPE_CHECKING, NamedTuple

from .csyntax import LOOP_TYPES, ancestor, unwrap
from ..common.kept import cached_property
from ..common.lazyre import lazy_re
from .tdxcodes import CodeSet, code_of, is_status_name

if TYPE_CHECKING:
    from .tdxsem import TdxFacts

_DEADLINE = lazy_re(r"\b(time_before\w*|time_after\w*|time_is_\w+|ktime_\w+|jiffies|"
                    r"timeout|deadline)\b")
_EVENT_EXIT = lazy_re(r"\b(signal_pending|fatal_signal_pending|kvm_vcpu_has_events|"
                      r"need_resched|kthread_should_stop|KVM_REQ_VM_DEAD|vm_dead|"
                      r"kvm_check_request)\b")
# A condition comparing two moving values (next < end): the loop ends on progress.
_RELATIONAL = lazy_re(r"[\w)\]]\s*(?:<=?|>=?)\s*[\w(]")


class Loop:
    """A loop that may re-issue a TDX call: a for/while/do statement or a
    goto back to an earlier label. Properties are worked out on demand."""

    def __init__(self, facts: "TdxFacts", node, kind: str, span: tuple[int, int],
                 condition=None, back_edge=None):
        # The facts keep their loops; a loop refers back without keeping them.
        self.facts = weakref.proxy(facts)
        self.node = node  # the loop statement (the labeled statement for a goto loop)
        self.kind = kind  # "for", "while", "do" or "goto"
        self.span = span  # bytes the loop covers
        self.condition = condition  # the continue condition (None: none, or for (;;))
        self.back_edge = back_edge  # the `goto` of a goto loop
        self._exits: list = []
        self._continues: list = []

    @property
    def exit_tests(self) -> list:  # if-conditions whose branch leaves the loop
        return self.facts.jumps_swept and self._exits

    @property
    def continue_tests(self) -> list:  # conditions (or case values) that go round again
        return self.facts.jumps_swept and self._continues

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
        region, deciding = self.facts.region, self.deciding()
        texts = [region.text(n) for n in deciding]
        names = {region.text(i) for n in deciding for i in _identifiers(n)}
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
        func = self.facts.region.function_at(self.node.start_byte) or region.root
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
        region = self.facts.region
        if self.condition is not None and region.first_added(self.condition) is not None:
            return self.condition
        return self.node

    def comments(self) -> list:
        """Comments that speak for the loop: the nearest one above it and
        the ones inside it (not in loops nested in it)."""
        region = self.facts.region
        above = [c for c in region.comment_above(self.node) if c.node.start_byte < self.span[0]][:1]
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
    r"(?:keep|shut)s? (?:\w+ ){0,2}out|(?:block|prevent)s? (?:new|other|later|further)|"
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
                or ("_" in m.group(0) and is_status_name("TDX_" + m.group(0)))]
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
    """Mixed into TdxFacts: the loops of its region."""

    @cached_property
    def loops(self) -> list[Loop]:
        """Every loop of the region, in document order (the tests that
        decide each are worked out when first asked for)."""
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
                labels[(_function_id(region, lab), region.text(name))] = lab
        for jump in region.find("goto_statement"):
            name = jump.child_by_field_name("label")
            lab = labels.get((_function_id(region, jump), region.text(name))) if name is not None else None
            if lab is not None and lab.start_byte < jump.start_byte:
                loops.append(Loop(self, lab, "goto", (lab.start_byte, jump.end_byte), back_edge=jump))
                self._back_edges.add(jump.start_byte)
        loops.sort(key=lambda lp: (lp.span[0], -lp.span[1]))
        return loops

    @cached_property
    def jumps_swept(self) -> bool:
        """Give the jumps to the loops they leave or restart, once, when a
        loop's tests are first asked for (most loops issue no TDX call)."""
        self._attribute_jumps(self.loops)
        return True

    def innermost_loop(self, byte: int) -> Loop | None:
        """The innermost loop around a byte offset (loops are sorted by
        start, and their spans nest)."""
        found = None
        for lp in takewhile(lambda lp: lp.span[0] <= byte, self.loops):
            found = lp if byte < lp.span[1] else found
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
                    loop._continues.append(_CaseValue(CodeSet(frozenset({code}))))
                return
            if guard is not None:
                loop._continues.append(guard.child_by_field_name("condition"))
            return
        if guard is not None and (switch_case is None or switch_case.start_byte < guard.start_byte):
            loop._exits.append(guard.child_by_field_name("condition"))

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


def _function_id(region, node) -> int:
    return getattr(region.function_at(node.start_byte), "start_byte", -1)
