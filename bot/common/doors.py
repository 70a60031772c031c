"""Doors that open their rooms when a name is asked for.

A layer's door (its package __init__) names what the layer offers. Most
commands need a few of those names: the b4 check command, which b4 starts
once per patch, reads one mail and prints lines; it has no use for the
lore client, the git reader or the draft writer, and importing them was a
fifth of its start-up. A lazy door imports the module that holds a name
the first time someone asks for it (PEP 562), then keeps it.

The door also imports the same names under TYPE_CHECKING, for readers,
editors and type checkers; tests/test_layout.py checks the two lists agree.
"""
from __future__ import annotations

import importlib


def lazy_door(namespace: dict, rooms: dict[str, tuple[str, ...]]):
    """__getattr__ and __dir__ for the door whose globals are namespace;
    rooms maps each of its modules to the names it offers."""
    package = namespace["__name__"]
    room_of = {name: room for room, names in rooms.items() for name in names}

    def __getattr__(name: str):
        room = room_of.get(name)
        if room is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{room}"), name)
        namespace[name] = value  # asked once: later reads are plain globals
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(room_of))

    return __getattr__, __dir__
