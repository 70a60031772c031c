"""What every layer uses: the error a user's input can cause, regular
expressions compiled on first use, and a lock-free cached property."""
from .errors import UserError
from .kept import cached_property
from .lazyre import lazy_re, re_lower

__all__ = ["UserError", "cached_property", "lazy_re", "re_lower"]
