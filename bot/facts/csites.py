"""Where values move in a region's code, read once for every rule that asks:
each call with its callee's name, each assignment or initializer with its
target and value, each return with its value, each binary expression with
its operator.

A dozen rules and the TDX facts walk these same nodes; each used to read
the same fields of the same nodes again (a tree-sitter field lookup is a
call into C and a new node object every time). The lists are in document
order and shared (callers only read them); a scope's share is found by
bisection."""
from __future__ import annotations

from bisect import bisect_left
from typing import NamedTuple

from .cnodes import call_name, unwrap
from ..common.kept import cached_property


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


class CSites:
    """Mixed into Region (which gives find() and op())."""

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
