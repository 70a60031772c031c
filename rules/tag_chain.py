"""Broken trailer chain: a Co-developed-by without its SoB, a nameless note, a combined tag.

What it flags in the trailer block:
- `Co-developed-by: X` not directly followed by `Signed-off-by: X`;
- a handler note in square brackets without the handler's name
  (`[enhance log]` instead of `[Rick: enhance log]`), or one that does not
  sit directly below a Signed-off-by;
- combined tags such as `Reported-and-tested-by:`.

Why: submitting-patches.rst requires each Co-developed-by to be followed by
that person's Signed-off-by, and the tip handbook forbids combined tags.
Sean on the kexec series: "the blurb in the square braces should be after
the previous SoB so that there's a clear, consistent chain of handling".

Fires on:
    Co-developed-by: Tomas Lindqvist <tomas@example.com>
    Signed-off-by: Nadia Okafor <nadia@example.com>
Must not fire on:
    Co-developed-by: Rick Edgecombe <rick.p.edgecombe@intel.com>
    Signed-off-by: Rick Edgecombe <rick.p.edgecombe@intel.com>
    Signed-off-by: Vishal Verma <vishal.l.verma@intel.com>
"""
from __future__ import annotations

from ..lazyre import lazy_re
from ..mailparse import handler_notes
from ..rulekit import Case, Hit

ID = "tag-chain"
SEVERITY = "warning"
PATHS = None

_ADDRESS = lazy_re(r"<([^<>]+)>")
_NAMED_NOTE = lazy_re(r"^\s*\[\s*[A-Z][\w.' -]*:\s*\S")


def _email(value: str) -> str:
    """The address of a 'Name <addr>' trailer value."""
    m = _ADDRESS.search(value)
    return (m.group(1) if m else value).strip().lower()


def check_patch(patch):
    trailers = patch.trailers
    for i, t in enumerate(trailers):
        if "-and-" in t.name.lower():
            yield Hit(f"combined tag '{t.name}'", changelog_line=t.line,
                      comment="Please split combined tags into one tag per line.")
        if t.name.lower() == "co-developed-by":
            who = _email(t.value)
            nxt = trailers[i + 1] if i + 1 < len(trailers) else None
            if nxt is None or nxt.name.lower() != "signed-off-by" or _email(nxt.value) != who:
                yield Hit(f"Co-developed-by: {t.value} is not followed by their Signed-off-by",
                          changelog_line=t.line,
                          comment="Each Co-developed-by needs the same person's Signed-off-by "
                                  "directly below it.")
    by_line = {t.line: t for t in trailers}
    for index in handler_notes(patch.changelog_lines, trailers):
        note = patch.changelog_lines[index]
        if not _NAMED_NOTE.match(note):
            yield Hit(f"handler note '{note.strip()}' does not say who made the change",
                      changelog_line=index,
                      comment="Please name who made the change, e.g. '[Rick: enhance log]', "
                              "directly below their Signed-off-by.")
            continue
        above = by_line.get(index - 1)
        if above is None or above.name.lower() != "signed-off-by":
            yield Hit("handler note is not directly below a Signed-off-by", changelog_line=index,
                      comment="The note belongs directly below the Signed-off-by of the person "
                              "who made the change, so the chain of handling stays clear.")


INVALID = [
    Case(trailers="Co-developed-by: Tomas Lindqvist <tomas@example.com>\n"
                  "Signed-off-by: Nadia Okafor <nadia@example.com>",
         at=("Co-developed-by: Tomas",), why="SoB of someone else follows"),
    Case(trailers="Signed-off-by: Kirill Example <kirill@example.com>\n[enhance log]\n"
                  "Signed-off-by: Rick Example <rick@example.com>",
         at=("[enhance log]",), why="nameless handler note"),
    Case(trailers="Reported-and-tested-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>",
         at=("Reported-and-tested-by",), why="combined tag"),
    Case(trailers="Signed-off-by: Alice Example <alice@example.org>\n"
                  "Reviewed-by: Bob Reviewer <bob@example.com>\n[Rick: reduce to a move]",
         at=("[Rick: reduce to a move]",), why="note below a Reviewed-by"),
]

VALID = [
    Case(trailers="Co-developed-by: Rick Edgecombe <rick.p.edgecombe@intel.com>\n"
                  "Signed-off-by: Rick Edgecombe <rick.p.edgecombe@intel.com>\n"
                  "Signed-off-by: Vishal Verma <vishal.l.verma@intel.com>", why="the seed"),
    Case(trailers="Signed-off-by: Kirill Example <kirill@example.com>\n[Rick: enhance log]\n"
                  "Signed-off-by: Rick Example <rick@example.com>", why="named note below the SoB"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\nTested-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>", why="separate tags"),
]
