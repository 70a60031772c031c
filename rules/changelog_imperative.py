"""The changelog never says what the patch does, or the subject is not imperative.

What it flags: (a) a changelog in which no sentence says what the patch
does in imperative mood ("Add ...", "So loop ...", "Since ..., remove ...");
(b) a subject whose summary after the subsystem prefix does not start with
a capital letter (unless it starts with an identifier such as tdx_foo()),
or starts with a verb that is not imperative ("Adds", "Added", "Adding")
or with no verb at all ("New wrapper for ...").

Why: tip and KVM maintainers want the changelog to state the change in
imperative mood, and the shortlog to read "subsys: Do something". Rick on
a runtime-update patch: "somewhere it's missing what this patch does".

Fires on the subject `x86/virt/tdx: Added a wrapper for TDH.SYS.SHUTDOWN`.
Must not fire on `x86/virt/tdx: Add a wrapper for TDH.SYS.SHUTDOWN` with a
changelog that says "Add tdx_sys_shutdown(), which ...".
"""
from __future__ import annotations

from ..language import CONNECTORS, is_imperative, plausible_imperative, verb_base
from ..lazyre import lazy_re
from ..rulekit import Case, Hit

ID = "changelog-imperative"
SEVERITY = "warning"
PATHS = None

_NOT_A_START = frozenset("this the a an new some more various misc minor small".split())
_WORD = lazy_re(r"[A-Za-z][A-Za-z'-]*")
_BULLET = lazy_re(r"^([-*]|\d+[.)])\s")
_BULLET_MARK = lazy_re(r"^([-*]|\d+[.)])\s+")
_SENTENCE_END = lazy_re(r"(?<=[.!?])\s+")
_CLAUSE = lazy_re(r",\s+")


def _sentences(patch):
    """(changelog line index, sentence) for each sentence of the prose."""
    buf, start = [], None
    for index, text in patch.prose_lines:
        stripped = text.strip()
        if not stripped:
            if buf:
                yield start, " ".join(buf)
            buf, start = [], None
            continue
        if _BULLET.match(stripped) and buf:
            yield start, " ".join(buf)
            buf, start = [], None
        if start is None:
            start = index
        buf.append(_BULLET_MARK.sub("", stripped))
    if buf:
        yield start, " ".join(buf)


def _imperative_sentence(sentence: str) -> bool:
    for part in _SENTENCE_END.split(sentence):
        for i, clause in enumerate(_CLAUSE.split(part)):
            words = _WORD.findall(clause)
            led_in = i > 0
            while words and words[0].lower() in CONNECTORS:
                words, led_in = words[1:], True
            if not words or (not led_in and not words[0][0].isupper()):
                continue
            if plausible_imperative(words[0]):
                return True
    return False


def _subject_problem(summary: str) -> str | None:
    words = summary.split()
    if not words:
        return "the subject has no summary after the prefix"
    first = words[0]
    if "_" in first or first.endswith("()"):
        return None
    if not first[0].isupper():
        if first[0].isalpha():
            return f"the subject's summary starts lower-case ('{first}')"
        return None
    word = _WORD.match(first)
    word = word.group(0) if word else first
    if is_imperative(word):
        return None
    if verb_base(word):
        return f"the subject says '{word}'; use the imperative ('{verb_base(word).capitalize()}')"
    if word.lower() in _NOT_A_START:
        return f"the subject starts with '{word}'; say what the patch does ('Add ...', 'Fix ...')"
    return None


def check_patch(patch):
    problem = _subject_problem(patch.summary)
    if problem:
        yield Hit(problem, on_subject=True,
                  comment="Please write the subject as '<prefix>: <Imperative summary>', e.g. "
                          "'x86/virt/tdx: Add a wrapper for TDH.SYS.SHUTDOWN'.")
    first = None
    for index, sentence in _sentences(patch):
        if _imperative_sentence(sentence):
            return
        first = index if first is None else first
    if first is not None:
        yield Hit("the changelog never says what the patch does in imperative mood",
                  changelog_line=first,
                  comment="The changelog explains the background but never says what this "
                          "patch does. Please add a sentence in imperative mood, e.g. 'Add "
                          "..., so that ...'.")


INVALID = [
    Case(subject="x86/virt/tdx: Added a wrapper for TDH.SYS.SHUTDOWN", at=("Added a wrapper",),
         why="past tense"),
    Case(subject="x86/tdx: add the TDX_SYS_BUSY status code", at=("add the TDX_SYS_BUSY",),
         why="lower case"),
    Case(subject="KVM: TDX: New helper for busy statuses", at=("New helper",), why="no verb"),
    Case(changelog="The TDX module can now be shut down. Before kexec it has to be, because\n"
                   "the next kernel needs a clean module.",
         at=("The TDX module can now",), why="never says what the patch does"),
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
]
