"""cached_property without a lock.

functools.cached_property in Python 3.11 takes a lock on every first
access (3.12 dropped it: it serialised all instances of a class). The
facts of a region are worked out on first access, thousands of times in a
big review, by one thread of one process (the parallel review forks); the
lock is pure cost there. This one does the same: the value is put in the
instance's __dict__, where later accesses find it without calling back."""
from __future__ import annotations


class cached_property:  # noqa: N801 - a drop-in for functools.cached_property
    def __init__(self, func):
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.attrname = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.attrname] = self.func(instance)
        return value
