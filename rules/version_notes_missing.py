"""A v2 or later series that says nowhere what changed since the last one.

What it flags: a series whose version is 2 or more when neither the cover
letter nor any patch (in its notes below the '---' line, or anywhere
before the diff) has version notes: "Changes in v3", "Changes since v1",
"v1 -> v2", a "v2:" entry, b4's "Link to v1", a "Previous version" link.
Notes below a patch's '---' line that tell in prose what is different
count too: "The suggested diff left out LVTCMCI; it is added here.",
"Rebased on kvm-x86/next and dropped the debug print." (a past or passive
revision verb, or a word of the review it answers). It judges only what it
can see whole: a series with a cover letter, or a single patch. One patch of a larger series without its cover (as `b4 am`
hands the check command) is left alone, and so is a RESEND.

Why: submitting-patches.rst asks for a description of the changes from the
previous version, in the cover letter or below the '---' line, and
reviewers who read v1 ask for it first ("What changed since v1?"). Without
it every reviewer has to diff the versions by hand.

Fires on: [PATCH v2 0/3] with a cover letter that explains the series but
has no "Changes in v2" section, and no notes in the patches.
Must not fire on the same cover letter with "Changes in v2:" and a list,
nor on a v1 series, nor on a v2 patch whose notes say "Marek offered to
let someone else carry this ... The suggested diff left out LVTCMCI; it is
added here."
"""
from __future__ import annotations

import re

from ..lint.kit import GENERIC, KVM_X86, TIP, Case, Violation, lazy_re

ID = "version-notes-missing"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'submitting-patches.rst, "The canonical patch format": changes between versions',
         KVM_X86: 'maintainer-kvm-x86.rst, "Links": previous versions in the cover letter or below "---"',
         GENERIC: 'submitting-patches.rst, "The canonical patch format": changes between versions'}
TOPICS = ("changes", "changelog", "previous version", "v1")

_NOTES = lazy_re(  # possessive runs: a line of spaces or digits is read once
    r"\bchange(?:s|log|d)?\b.{0,40}\bv\d++\b"          # Changes in v2, Changes since v1
    r"|\bv\d++\b.{0,10}\bchanges?\b"                   # v2 changes
    r"|\bv\d++\s*+(?:->|=>|\u2192|\.\.)\s*+v\d++\b"     # v1 -> v2
    r"|^\s*+[-*]?+\s*+\[?+\(?+v\d++\)?+\]?+\s*+:"         # v2: ..., - v1: link
    r"|\bsince\s++(?:v|version\s*+)\d++\b"              # since v1
    r"|\blink to v\d++\b"                              # b4's "Link to v1"
    r"|^\s*+changelog\s*+:?+\s*+$"                       # a bare "Changelog:" heading
    r"|\b(?:previous|prior|last)\s++(?:version|revision|posting|series)\b",
    re.I | re.M)


# Prose below a patch's '---' that tells what changed: a revision verb in
# the past or passive ("dropped", "is added here"), or the review it answers.
# Read word by word (a set lookup per word), not as one alternation of forty
# literals tried at every position.
_WORDS = lazy_re(r"[A-Za-z]++")
_REVISION_WORDS = frozenset("""
added dropped removed fixed reworked rewrote rewritten renamed moved squashed folded rebased
addressed updated reworded replaced switched changed reverted restored simplified incorporated took
""".split())
_REVISION_PHRASES = frozenset({
    ("split", "out"), ("left", "out"), ("taken", "over"), ("carried", "over"), ("as", "suggested"),
    ("suggested", "by"), ("suggested", "diff"), ("suggested", "change"), ("suggested", "fix"),
    ("review", "comment"), ("review", "comments"), ("review", "feedback"), ("per", "review"),
    ("after", "review"), ("from", "review"), ("per", "feedback"), ("after", "feedback"),
    ("from", "feedback"), ("per", "the", "review"), ("after", "the", "review"), ("from", "the", "review"),
    ("per", "the", "feedback"), ("after", "the", "feedback"), ("from", "the", "feedback"),
})


def _tells_changes(text: str) -> bool:
    """Do the notes tell in prose what is different from the last version?"""
    words = [w.lower() for w in _WORDS.findall(text)]
    for i, w in enumerate(words):
        if w in _REVISION_WORDS or tuple(words[i:i + 2]) in _REVISION_PHRASES \
                or tuple(words[i:i + 3]) in _REVISION_PHRASES:
            return True
    return False


class NoVersionNotes(Violation):
    message = "v{version} does not say what changed since the previous version"
    comment = ("This is v{version}, but I could not find what changed since v{previous}. Please "
               "add a 'Changes in v{version}' list to {where}, with a link to the previous posting.")

    @property
    def previous(self) -> int:
        return self.version - 1


def check_series(ctx):
    series = ctx.series
    if series.version < 2 or not series.patches:
        return
    if any(t.upper() == "RESEND" for p in series.patches for t in p.tags):
        return
    if series.cover is None and series.total > 1:
        return  # one patch of a bigger series: its cover may hold the notes
    places = ([series.cover] if series.cover is not None else []) + list(series.patches)
    if any(_NOTES.search(_text_before_diff(p)) for p in places):
        return
    if any(_tells_changes(_notes(p)) for p in series.patches):
        return
    where = "the cover letter" if series.cover is not None else "the patch, below the '---' line"
    ctx.report(None, NoVersionNotes(version=series.version, where=where))


def _text_before_diff(patch) -> str:
    return "\n".join(patch.body_lines[:patch.diff_body_start])


def _notes(patch) -> str:
    """The prose between a patch's '---' line and its diff (the diffstat
    left out): what git leaves out of the commit."""
    body = patch.body_lines[:patch.diff_body_start]
    cut = max((i for i, line in enumerate(body) if line.rstrip() == "---"), default=None)
    if cut is None:
        return ""
    return "\n".join(line for line in body[cut + 1:] if "|" not in line and "changed," not in line)


_V2 = dict(tag="PATCH v2", subject="x86/virt/tdx: Add tdx_sys_shutdown()",
           code="int tdx_sys_shutdown(void);", path="arch/x86/include/asm/tdx.h")

INVALID = [
    Case(**_V2, at=('series:',), why="v2, no notes anywhere"),
    Case(**{**_V2, "tag": "PATCH v3"}, notes="This applies on top of tip x86/tdx.",
         at=('series:',), why="notes, but none about versions"),
    Case(**_V2, notes=" arch/x86/include/asm/tdx.h | 1 +\n 1 file changed, 1 insertion(+)",
         at=('series:',), why="only a diffstat below the ---"),
]

VALID = [
    Case(**_V2, notes="Changes in v2:\n- Return -EBUSY instead of looping.", why="b4-style notes"),
    Case(**_V2, notes="v1: https://lore.kernel.org/r/20260901-tdx-shutdown-v1-1@example.com",
         why="a link to v1"),
    Case(**{**_V2, "tag": "PATCH"}, why="v1 needs no notes"),
    Case(**{**_V2, "tag": "PATCH RESEND v2"}, why="a resend"),
    Case(**{**_V2, "tag": "PATCH v2 2/5"}, why="one patch of five, without its cover letter"),
    Case(**_V2, changelog="Add tdx_sys_shutdown() so that kexec can stop the module.\n\n"
                          "v1 -> v2: return -EBUSY instead of looping.", why="notes above the ---"),
    Case(**_V2, notes="Marek offered to let someone else carry this, so here is a version along\n"
                      "the lines that were suggested. The suggested diff left out LVTCMCI; it is\n"
                      "added here.", why="notes that tell in prose what is different"),
    Case(**_V2, notes="Rebased on tip x86/tdx and dropped the debug print.", why="prose revision notes"),
]
