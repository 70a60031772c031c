"""What every layer uses: the error a user's input can cause, regular
expressions compiled on first use, a lock-free cached property,
NamedTuple records made without typing's start-up cost, and doors that
import a layer's modules when a name is first asked for."""
from .doors import lazy_door
from .errors import UserError
from .kept import cached_property
from .lazyre import compile_all, keep_programs, lazy_re, re_lower
from .records import NamedTuple

__all__ = ["NamedTuple", "UserError", "cached_property", "compile_all", "keep_programs", "lazy_door",
           "lazy_re", "re_lower"]
