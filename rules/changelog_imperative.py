"""The subject, or the changelog sentence that states the change, is not imperative.

What it flags: (a) a subject whose summary after the subsystem prefix does
not start with a capital letter (unless it starts with an identifier such
as tdx_foo()), or starts with a verb that is not imperative ("Adds",
"Added", "Adding") or with no verb at all ("New wrapper for ..."); (b) a
changelog sentence that states the change with an inflected verb ("Adds a
wrapper ...", "Introduced tdx_foo() ..."), and a changelog that states the
change only in other moods ("This patch reads ...", "X can be dropped"):
once, on the first such sentence. A changelog with no sentence that states
the change at all is changelog-says-what's finding, and one that states it
only as "This patch adds ..." or "We add ..." is changelog-voice's (one
remark on the line is enough).

Why: tip and KVM maintainers want the shortlog to read "subsys: Do
something" and the changelog to state the change in imperative mood, as if
giving orders to the code base (submitting-patches.rst, "Describe your
changes").

Fires on the subject `x86/virt/tdx: Added a wrapper for TDH.SYS.SHUTDOWN`,
and on the changelog sentence "Adds tdx_sys_shutdown() for kexec."
Must not fire on `x86/virt/tdx: Add a wrapper for TDH.SYS.SHUTDOWN` with a
changelog that says "Add tdx_sys_shutdown(), which ...", nor on "Changes
in v2:" notes.
"""
from __future__ import annotations

from ..lint.kit import GENERIC, KVM_X86, SUBJECT, TIP, WORD, Case, ChangelogLine, Violation, is_imperative, sentences, \
    statement_mood, verb_base

ID = "changelog-imperative"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'maintainer-tip.rst, "Patch subject" and "Changelog": imperative mood',
         KVM_X86: 'maintainer-kvm-x86.rst, "Shortlog" and "Changelog": imperative mood',
         GENERIC: 'submitting-patches.rst, "Describe your changes": imperative mood'}
TOPICS = ("imperative", "mood", "subject", "shortlog", "adds", "added")

_NOT_A_START = frozenset("this the a an new some more various misc minor small".split())


class _Subject(Violation):
    comment = ("Please write the subject as '<prefix>: <Imperative summary>', e.g. "
               "'x86/virt/tdx: Add a wrapper for TDH.SYS.SHUTDOWN'.")


class NoSummary(_Subject):
    message = "the subject has no summary after the prefix"


class LowerCaseSummary(_Subject):
    message = "the subject's summary starts lower-case ('{word}')"


class SubjectNotImperative(_Subject):
    message = "the subject says '{word}'; use the imperative ('{base}')"

    @property
    def base(self) -> str:
        return verb_base(self.word).capitalize()


class SubjectWithoutVerb(_Subject):
    message = "the subject starts with '{word}'; say what the patch does ('Add ...', 'Fix ...')"


class InflectedVerb(Violation):
    message = "the changelog says '{word}'; state the change in imperative mood ('{base}')"
    comment = "Please state the change in imperative mood: '{base} ...', not '{word} ...'."

    @property
    def base(self) -> str:
        return verb_base(self.word).capitalize()


class NoImperative(Violation):
    message = "no sentence states the change in imperative mood"
    comment = ("Please state the change in imperative mood, as if giving orders to the code base: "
               "'Add ...', 'Remove ...'.")


def check_patch(ctx):
    patch = ctx.patch
    if problem := _subject_problem(patch.summary):
        ctx.report(SUBJECT, problem)
    stated = [(index, text, statement_mood(text)) for index, text in sentences(patch.prose_lines)]
    stated = [(index, text, mood) for index, text, mood in stated if mood]
    if any(mood == "imperative" for _, _, mood in stated):
        # The change is stated as it should be; only "Adds ..." sentences
        # beside it are worth a word.
        report = [entry for entry in stated if entry[2] == "inflected"]
    else:
        # "This patch adds ...", "We add ...": changelog-voice's finding on
        # the same line says it already; one remark is enough.
        report = [entry for entry in stated if entry[2] != "descriptive"][:1]
    for index, text, mood in report:
        if mood == "inflected":
            ctx.report(ChangelogLine(index), InflectedVerb(word=WORD.search(text).group(0)))
        else:
            ctx.report(ChangelogLine(index), NoImperative())


def _subject_problem(summary: str) -> Violation | None:
    words = summary.split()
    if not words:
        return NoSummary()
    first = words[0]
    if "_" in first or first.endswith("()"):
        return None
    if not first[0].isupper():
        if first[0].isalpha():
            return LowerCaseSummary(word=first)
        return None
    word = WORD.match(first)
    word = word.group(0) if word else first
    if is_imperative(word):
        return None
    if verb_base(word):
        return SubjectNotImperative(word=word)
    if word.lower() in _NOT_A_START:
        return SubjectWithoutVerb(word=word)
    return None

INVALID = [
    Case(subject="x86/virt/tdx: Added a wrapper for TDH.SYS.SHUTDOWN", at=('subject: Added a wrapper',),
         why="past tense"),
    Case(subject="x86/tdx: add the TDX_SYS_BUSY status code", at=('subject: add the TDX_SYS_BUSY',),
         why="lower case"),
    Case(subject="KVM: TDX: New helper for busy statuses", at=('subject: New helper',), why="no verb"),
    Case(subject="", at=("subject: [PATCH]",),
         why="no summary (only an empty title has none: a bare 'x86/tdx:' is not read as a prefix)"),
    Case(changelog="Before kexec the module has to be shut down.\n\nAdds tdx_sys_shutdown() for\n"
                   "that, and calls it from the reboot path.",
         at=('changelog:3: Adds tdx_sys_shutdown()',), why="inflected verb in the changelog"),
    Case(changelog="Introduced a helper that masks the status.", at=('changelog:1: Introduced a helper',),
         why="past tense in the changelog"),
    Case(changelog="The version goes into bug reports. The helper can be dropped later, and\n"
                   "tdx_sys_rd() should read it with TDH.SYS.RD.",
         at=('changelog:1: The helper can be dropped',), why="stated only in the passive and with 'should'"),
]

VALID = [
    Case(subject="x86/virt/tdx: Add a wrapper for TDH.SYS.SHUTDOWN",
         changelog="Before kexec the module must be shut down.\n\nAdd tdx_sys_shutdown(), which issues "
                   "TDH.SYS.SHUTDOWN.", why="imperative both"),
    Case(subject="x86/virt/tdx: tdx_sys_disable(): Print unexpected errors", why="identifier first"),
    Case(changelog="The SEAMCALL can fail with two retryable codes.\n\nSo loop infinitely on either "
                   "of these error codes, until success or other\nerror.", why="'So loop ...'"),
    Case(changelog="The check is redundant now. Since this clears any poison, remove the\n"
                   "X86_BUG_TDX_PW_MCE check.", why="'Since ..., remove ...'"),
    Case(subject="x86/tdx: Process the TD exit status", why="'Process' is imperative"),
    Case(changelog="Quiesce the module before kexec.", why="a verb the word list lacks"),
    Case(changelog="Print the status.\n\nChanges in v2:\n- Print it once.", why="'Changes in' notes"),
    Case(changelog="The version goes into bug reports. This patch reads it with TDH.SYS.RD.",
         why="stated only as 'This patch ...': changelog-voice's finding on that line"),
    Case(changelog="Updates to the TDMR list happen at boot only, so no lock is needed. Drop it.",
         why="'Updates to' is a noun"),
]
