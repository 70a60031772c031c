"""NamedTuple with typing's class syntax, made the cheap way.

typing.NamedTuple checks every field's annotation as it defines a class;
under `from __future__ import annotations` each one is a string that it
compiles into a ForwardRef. For the forty-odd records of tdxbot that took
more start-up work than the b4 check command spends on a whole patch
(b4 starts the command once per patch). This one reads the field names
and defaults from the class body, builds the class with
collections.namedtuple, and copies the methods over; annotations are kept
as written. Type checkers see typing's NamedTuple.
"""
from __future__ import annotations

import collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # What the class body may not set, and what namedtuple makes itself.
    _NOT_SETTABLE = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields",
                               "_field_defaults", "_make", "_replace", "_asdict", "_source"})
    _MADE = frozenset({"__module__", "__qualname__", "__annotations__", "__orig_bases__",
                       "__classcell__"})

    class _RecordMaker(type):
        def __new__(cls, name, bases, namespace):
            if namespace.get("_is_base"):
                return super().__new__(cls, name, bases, namespace)
            annotations = namespace.get("__annotations__", {})
            fields = list(annotations)
            defaults = []
            for field in fields:
                if field in namespace:
                    defaults.append(namespace[field])
                elif defaults:
                    raise TypeError(f"{name}: field {field} without a default follows one with a default")
            record = collections.namedtuple(name, fields, defaults=defaults,
                                            module=namespace.get("__module__"))
            record.__qualname__ = namespace.get("__qualname__", name)
            record.__annotations__ = dict(annotations)
            for key, value in namespace.items():
                if key in _NOT_SETTABLE:
                    raise AttributeError(f"{name}: cannot set {key} on a NamedTuple")
                if key in _MADE or key in annotations:
                    continue
                setattr(record, key, value)
                set_name = getattr(type(value), "__set_name__", None)
                if set_name is not None:
                    set_name(value, record, key)
            return record

    class NamedTuple(metaclass=_RecordMaker):
        """Base of a record class: `class Point(NamedTuple): x: int; y: int = 0`."""
        _is_base = True

__all__ = ["NamedTuple"]
