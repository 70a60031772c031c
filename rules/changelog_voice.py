"""The changelog speaks as "we", "I" or "this patch".

What it flags: changelog prose (not trailers, not quoted or indented text,
not words inside quotes) that uses "This patch" or "Let's", and "we",
"us", "our", "I" or "my" where they stand for the change: in a changelog
whose change is stated nowhere in imperative mood, in a sentence that
states a change in the first person ("We also remove ..."), and in KVM
code anywhere. One finding per line.

What it leaves alone: in a patch the tip tree or the generic rules take,
"we" or "us" in background narrative ("so we walk the range one page at a
time") when another sentence already states the change in imperative
mood; the verb "lets" ("the module lets the host ...", which is not
"Let's"); and "I/O".

Why: every tree asks for changelogs in imperative mood that describe the
change, not the author or the patch: "Describe your changes in imperative
mood ... instead of '[This patch] makes xyzzy do frotz' or '[I] changed
xyzzy'" (submitting-patches.rst), "write changelogs in imperative mood"
(maintainer-tip.rst, "Changelog"). KVM x86 goes further, "write changelogs
using imperative mood and avoid pronouns" (maintainer-kvm-x86.rst), so
there a pronoun is worth a word wherever it is. On tip patches the
maintainers ask for the imperative where the change is stated, and leave
a "we" in the story of the problem to taste. The TDH.SYS.DISABLE v2 cover
notes rewording logs "to use the imperative mood" after review.

Fires on a changelog whose only statement of the change is "So we loop
infinitely on either of these error codes."
Must not fire on "Loop on either of these error codes until success or
another error.", nor on a quoted "we", I/O, or "the module lets the host
retry".
"""
from __future__ import annotations

from ..lint.kit import (GENERIC, KVM_X86, TIP, Case, ChangelogLine, Violation, lazy_re, patch_tree,
                        personal_change, sentences, statement_mood)

ID = "changelog-voice"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'maintainer-tip.rst, "Changelog": imperative mood',
         KVM_X86: 'maintainer-kvm-x86.rst, "Changelog": "imperative mood and avoid pronouns"',
         GENERIC: 'submitting-patches.rst, "Describe your changes": imperative mood, no "[This patch]", '
                  'no "[I]"'}
TOPICS = ("imperative", "mood", "we", "this patch", "let's", "pronoun")

# Always out of place: the patch speaking of itself, "Let's" (with or
# without its apostrophe, but "Lets" only where "Let's" was meant: a
# capital at the start of a clause, then a verb).
_SELF = lazy_re(r"\b[Tt]his (?:patch|commit)\b|\b[Ll]et['\u2019]s\b|\bLet us\b|(?:^|(?<=[.:;] ))Lets(?= [a-z])")
# The author speaking: wrong where it stands for the change.
_PERSONAL = lazy_re(r"\b(?:[Ww]e|[Uu]s|[Oo]ur|I(?![/\-.]\w)|[Mm]y)\b")
_QUOTED = lazy_re(r"\"[^\"]*\"|`[^`]*`|'[^']{2,}'")


class PersonalVoice(Violation):
    message = "changelog says '{word}'; describe the change in imperative mood"
    comment = ("Please describe the change in imperative mood, without "
               "'we'/'I'/'this patch' (see {doc}).")

    @property
    def doc(self) -> str:
        return _DOC[self.tree.name]


_DOC = {TIP.name: "'Changelog' in maintainer-tip.rst",
        KVM_X86.name: "'Changelog' in maintainer-kvm-x86.rst: imperative mood, no pronouns",
        GENERIC.name: "'Describe your changes' in submitting-patches.rst"}


def check_patch(ctx):
    patch = ctx.patch
    tree = patch_tree(patch)
    said = sentences(patch.prose_lines)
    # Where the change is stated in imperative mood, a pronoun elsewhere is
    # background (except on KVM, which wants no pronouns at all).
    stated = tree is not KVM_X86 and any(statement_mood(text) == "imperative" for _, text in said)
    wrong = {}  # line index -> the first word out of place on it
    for index, text in said:
        plain = _QUOTED.sub(lambda q: " " * len(q.group(0)), text)
        found = _SELF.search(plain)
        if found is None and (not stated or personal_change(plain)):
            found = _PERSONAL.search(plain)
        if found is not None:
            line = _line_of(patch.prose_lines, index, found.group(0))
            wrong.setdefault(line, found.group(0))
    for line, word in sorted(wrong.items()):
        ctx.report(ChangelogLine(line), PersonalVoice(word=word.replace("\u2019", "'"), tree=tree))


def _line_of(prose_lines, start: int, word: str) -> int:
    """The first prose line from start on that holds word (as a word)."""
    for index, text in prose_lines:
        if index >= start and _has_word(text, word):
            return index
    return start


def _has_word(text: str, word: str) -> bool:
    at = text.find(word)
    while at >= 0:
        before = text[at - 1] if at else " "
        after = text[at + len(word)] if at + len(word) < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        at = text.find(word, at + 1)
    return False


INVALID = [
    Case(changelog="The SEAMCALL can return two different error codes that expect a retry.\n\n"
                   "So we loop infinitely on either of these error codes.",
         at=('changelog:3: So we loop',), why="'we' stating the change: nothing imperative says it"),
    Case(changelog="This patch adds a wrapper for TDH.SYS.SHUTDOWN.", at=('changelog:1: This patch adds',),
         why="'This patch'"),
    Case(changelog="Let's print the status on failure.\n\nI think this is the simplest fix.",
         at=("changelog:1: Let's print", 'changelog:3: I think'), why="'Let's' and 'I'"),
    Case(changelog="Print the status on failure.\n\nWe also drop the old helper, nothing calls it.",
         at=('changelog:3: We also drop',), why="a second change stated in the first person"),
    Case(path="arch/x86/kvm/vmx/tdx.c", subject="KVM: TDX: Print the status on failure",
         changelog="Print the status when TDH.VP.FLUSH fails.\n\nOtherwise we never learn why the "
                   "vCPU could not be\nreclaimed.", code="\tpr_err(\"flush failed\\n\");",
         at=('changelog:3: Otherwise we never',), why="KVM x86 wants no pronouns, background included"),
    Case(changelog="Lets print the status on failure.", at=('changelog:1: Lets print',),
         why="'Lets' written for 'Let's'"),
]

VALID = [
    Case(changelog="Loop on either of these error codes until success or another error.",
         why="imperative"),
    Case(changelog='Print the status. The spec says "we guarantee progress" for this leaf.',
         why="quoted text"),
    Case(changelog="Flush the I/O queues before the SEAMCALL.\n\n    we = something(); /* code */",
         why="I/O and indented code"),
    Case(changelog="Read the TD status.",
         trailers="Signed-off-by: Alice Example <alice@example.org>\nCc: Us Team <us@example.org>",
         why="trailers are not prose"),
    Case(changelog="Outside the direct map the pages need not be contiguous, so we walk the range\n"
                   "one page at a time. That costs us a lookup per page.\n\n"
                   "Convert each page on its own when the range is not in the direct map.",
         why="'we'/'us' in background narrative; the change is stated in the imperative (tip)"),
    Case(changelog="The TDX module lets the host retry an interrupted TDH.SYS.DISABLE.\n\n"
                   "Loop while it reports TDX_INTERRUPTED_RESUMABLE.",
         why="'lets' is a verb here, not 'Let's'"),
    Case(path="drivers/virt/coco/tdx-guest/tdx-guest.c", subject="virt: tdx-guest: Print the quote status",
         changelog="When the host fails the request we only see -EIO today.\n\nPrint the quote status.",
         code="\tpr_err(\"quote failed\\n\");",
         why="the tip tree takes the TDX guest driver: background 'we' is left to taste"),
]
