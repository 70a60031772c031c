"""Broken trailer chain: a Co-developed-by without its SoB, a nameless note, a combined tag.

What it flags in the trailer block:
- `Co-developed-by: X` not directly followed by `Signed-off-by: X`;
- a handler note in square brackets without the handler's name
  (`[enhance log]` instead of `[Rick: enhance log]`), one that does not
  sit directly below a Signed-off-by (notes grouped above all the
  Signed-off-bys included), or one not directly above the Signed-off-by of
  the handler it names (the form maintainer-tip.rst shows, a "[ handler:
  ... ]" paragraph of its own above all the tags, is not in the tag block
  and is left alone). A note directly above the only Signed-off-by is the
  author's own word on the patch (what they took from a suggested diff,
  say): it needs no name and has no earlier Signed-off-by to sit below.
  A run of notes glued together in one wrong place is one remark;
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
nor on a bracketed note of the author's own right above their only
Signed-off-by.
"""
from __future__ import annotations

from ..lint.kit import GENERIC, KVM_X86, TIP, Case, ChangelogLine, Violation, lazy_re

ID = "tag-chain"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'maintainer-tip.rst, "Ordering of commit tags": Co-developed-by/Signed-off-by pairs and '
              'handler notes',
         KVM_X86: 'submitting-patches.rst, "When to use Acked-by:, Cc:, and Co-developed-by:"',
         GENERIC: 'submitting-patches.rst, "When to use Acked-by:, Cc:, and Co-developed-by:"'}

_ADDRESS = lazy_re(r"<([^<>]+)>")
_NAMED_NOTE = lazy_re(r"^\s*\[\s*([A-Za-z][\w.@' -]*):\s*\S")
_NOTE = lazy_re(r"^\s*\[.*\]\s*$")
TOPICS = ("tag", "tags", "signed-off-by", "sob", "chain", "co-developed-by", "[", "note", "blurb")


class CombinedTag(Violation):
    message = "combined tag '{name}'"
    comment = "Please split combined tags into one tag per line."


class CoDeveloperUnsigned(Violation):
    message = "Co-developed-by: {value} is not followed by their Signed-off-by"
    comment = "Each Co-developed-by needs the same person's Signed-off-by directly below it."


class NamelessNote(Violation):
    message = "handler note '{note}' does not say who made the change"
    comment = ("Please name who made the change, e.g. '[Rick: enhance log]', directly below "
               "their Signed-off-by.")


class NoteNotBelowSignoff(Violation):
    message = "handler note is not directly below a Signed-off-by"
    comment = ("Please put each '[name: note]' right after the Signed-off-by that precedes the "
               "handler's own, so the chain of handling reads in order: SoB, [handler: what they "
               "changed], the handler's SoB. (maintainer-tip.rst also allows the notes as a "
               "paragraph of their own, set off by blank lines, above all the tags.)")


class NoteNotAboveHandler(Violation):
    message = "handler note of {who} is not directly above their Signed-off-by"
    comment = ("The note belongs directly above the Signed-off-by of the handler who made the "
               "change, below the one before it.")


def check_patch(ctx):
    trailers = ctx.patch.trailers
    for i, t in enumerate(trailers):
        if "-and-" in t.name.lower():
            ctx.report(ChangelogLine(t.line), CombinedTag(name=t.name))
        if t.name.lower() == "co-developed-by" and not _signed_next(trailers, i):
            ctx.report(ChangelogLine(t.line), CoDeveloperUnsigned(value=t.value))
    lines = ctx.patch.changelog_lines
    misplaced = set()  # notes reported as not below a Signed-off-by
    for index in _note_lines(lines, trailers):
        if problem := _note_problem(lines[index], index, trailers):
            if isinstance(problem, NoteNotBelowSignoff):
                misplaced.add(index)
                if index - 1 in misplaced:
                    continue  # a run of notes in one wrong place: one remark
            ctx.report(ChangelogLine(index), problem)


def _signed_next(trailers, i: int) -> bool:
    """Is the Co-developed-by trailers[i] directly followed by the same
    person's Signed-off-by?"""
    nxt = trailers[i + 1] if i + 1 < len(trailers) else None
    return nxt is not None and nxt.name.lower() == "signed-off-by" and \
        _email(nxt.value) == _email(trailers[i].value)


def _note_problem(note: str, index: int, trailers) -> Violation | None:
    """What is wrong with the handler note on changelog line index, if anything."""
    by_line = {t.line: t for t in trailers}
    below = by_line.get(index + 1)
    signoffs = [t for t in trailers if t.name.lower() == "signed-off-by"]
    if len(signoffs) == 1 and below is signoffs[0]:
        return None  # the author's own note above their only Signed-off-by
    named = _NAMED_NOTE.match(note)
    if not named:
        return NamelessNote(note=note.strip())
    above = by_line.get(index - 1)
    if above is None or above.name.lower() != "signed-off-by":
        return NoteNotBelowSignoff()
    who = named.group(1).strip().lower()
    signers = [t for t in signoffs if who in _names(t)]
    if signers and (below is None or below not in signers):
        return NoteNotAboveHandler(who=named.group(1).strip())
    return None


def _note_lines(lines, trailers) -> list[int]:
    """'[...]' lines of the trailer paragraph, also those above its first
    trailer (notes grouped above all the Signed-off-bys)."""
    if not trailers:
        return []
    start = trailers[0].line
    while start > 0 and lines[start - 1].strip() and _NOTE.match(lines[start - 1]):
        start -= 1
    out = []
    for i in range(start, len(lines)):
        if not lines[i].strip():
            break
        if _NOTE.match(lines[i]):
            out.append(i)
    return out


def _names(trailer) -> set[str]:
    """What a note may call the person of a trailer: full name, first
    name, address, the address's local part."""
    value = trailer.value
    name = value.split("<", 1)[0].strip().strip('"').lower()
    addr = _email(value)
    out = {addr, addr.split("@", 1)[0]}
    if name:
        out |= {name, name.split()[0]}
    return out


def _email(value: str) -> str:
    """The address of a 'Name <addr>' trailer value."""
    m = _ADDRESS.search(value)
    return (m.group(1) if m else value).strip().lower()


INVALID = [
    Case(trailers="Co-developed-by: Tomas Lindqvist <tomas@example.com>\n"
                  "Signed-off-by: Nadia Okafor <nadia@example.com>",
         at=('changelog:4: Co-developed-by: Tomas',), why="SoB of someone else follows"),
    Case(trailers="Signed-off-by: Kirill Example <kirill@example.com>\n[enhance log]\n"
                  "Signed-off-by: Rick Example <rick@example.com>",
         at=('changelog:5: [enhance log]',), why="nameless handler note"),
    Case(trailers="Reported-and-tested-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>",
         at=('changelog:4: Reported-and-tested-by',), why="combined tag"),
    Case(trailers="Signed-off-by: Alice Example <alice@example.org>\n"
                  "Reviewed-by: Bob Reviewer <bob@example.com>\n[Rick: reduce to a move]",
         at=('changelog:6: [Rick: reduce to a move]',), why="note below a Reviewed-by"),
    Case(trailers="[Henrik: expand the changelog]\n[Rosa: cut down to a plain move]\n"
                  "Signed-off-by: Tomas Lindqvist <tomas@example.org>\n"
                  "Signed-off-by: Henrik Strand <henrik@example.org>\n"
                  "Signed-off-by: Rosa Delgado <rosa@example.com>",
         at=('changelog:4: [Henrik: expand',), why="notes grouped above all the SoBs: one remark for the run"),
    Case(trailers="Signed-off-by: Tomas Lindqvist <tomas@example.org>\n"
                  "Signed-off-by: Henrik Strand <henrik@example.org>\n[Henrik: expand the changelog]\n"
                  "Signed-off-by: Rosa Delgado <rosa@example.com>",
         at=('changelog:6: [Henrik: expand',), why="note below the handler's own SoB, not above it"),
]

VALID = [
    Case(trailers="Co-developed-by: Rick Edgecombe <rick.p.edgecombe@intel.com>\n"
                  "Signed-off-by: Rick Edgecombe <rick.p.edgecombe@intel.com>\n"
                  "Signed-off-by: Vishal Verma <vishal.l.verma@intel.com>", why="the seed"),
    Case(trailers="Signed-off-by: Kirill Example <kirill@example.com>\n[Rick: enhance log]\n"
                  "Signed-off-by: Rick Example <rick@example.com>", why="named note below the SoB"),
    Case(trailers="Reported-by: Bob Tester <bob@example.com>\nTested-by: Bob Tester <bob@example.com>\n"
                  "Signed-off-by: Alice Example <alice@example.org>", why="separate tags"),
    Case(changelog="Move the codes.\n\n[ rick: trimmed the changelog ]",
         trailers="Signed-off-by: Kirill Example <kirill@example.com>\n"
                  "Signed-off-by: Rick Example <rick@example.com>",
         why="the tip handbook's form: a note paragraph above the tags"),
    Case(trailers="Signed-off-by: Tomas Lindqvist <tomas@example.org>\n[henrik@example.org: expand log]\n"
                  "Signed-off-by: Henrik Strand <henrik@example.org>", why="note named by address"),
    Case(trailers="Suggested-by: Amelia Brooks <amelia@example.org>\n"
                  "[used the suggested diff, with the LVTCMCI case it left out]\n"
                  "Signed-off-by: Noor Haddad <noor@example.com>",
         why="the author's own note above their only Signed-off-by: no one else handled it"),
]
