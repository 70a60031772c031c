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


# Letters re.IGNORECASE takes for an ASCII i or s besides their own case
# (dotless and dotted I, long s); str.lower() keeps them apart.
_RE_FOLDS = str.maketrans({"\u0131": "i", "\u0130": "i", "\u017f": "s"})


def re_lower(text: str) -> str:
    """text lower-cased so that a plain `in` test agrees with an ASCII
    pattern compiled with re.IGNORECASE (a fast first look must not miss
    what the pattern would find)."""
    return text.lower() if text.isascii() else text.translate(_RE_FOLDS).lower()
