"""Regular expressions compiled on first use.

The b4 check command starts once per patch, and compiling every rule's
patterns up front costs more than most patches need: a patch with no loop
never needs the loop rules' patterns.
"""
from __future__ import annotations

import re


class LazyPattern:
    """Compiles on the first attribute asked for, then keeps each method it
    hands out as an instance attribute, so later calls skip __getattr__."""

    def __init__(self, pattern: str, flags: int = 0):
        self._args = (pattern, flags)
        self._compiled = None

    def __getattr__(self, name: str):
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        value = getattr(compiled, name)
        self.__dict__[name] = value
        return value


def lazy_re(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)
