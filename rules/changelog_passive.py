"""The changelog states the change in the passive, or leans on "the former/the latter".

What it flags: (a) a changelog sentence that states a change to the code
in the passive: a piece of code (a check, a helper, a define, an
identifier) that "is added", "can be dropped", "should be removed", "gets
moved"; history ("was added in commit ...") and runtime behaviour ("the
page is freed") are left alone; (b) "the former" or "the latter" standing
for something the reader has to look back for; (c) as a nit (info), a
changelog whose last sentence lacks its final period.

Why: reviewers of the TDX kexec series asked for "Since ..., remove the
X86_BUG_TDX_PW_MCE check" in place of "... the check ... can be dropped":
the changelog says what the patch does, in imperative mood, and the
passive hides that this patch is the one doing it. "The former/the latter"
makes the reader go back a sentence to find out what is meant; naming it
again costs two words.

Fires on "With the poison scrubbed, the X86_BUG_TDX_PW_MCE check in
machine_kexec_prepare() can be dropped." and on "Both leaves can return
TDX_SYS_BUSY; the latter only during an update."
Must not fire on "Remove the X86_BUG_TDX_PW_MCE check.", nor on "The
check was added in commit 1234567890ab (...)", nor on "the page is freed
when the TD is torn down".
"""
from __future__ import annotations

from ..lint.kit import Case, ChangelogLine, Violation, lazy_re, passive_change, sentences

ID = "changelog-passive"
SEVERITY = "warning"
PATHS = None
TOPICS = ("passive", "imperative", "former", "latter", "period", "full stop")

# "the latter" standing alone: before a verb, punctuation or the end.
_FORMER = lazy_re(r"\b[Tt]he (former|latter)\b(?=\s*(?:[.,;:)!?]|$|(?:is|are|was|were|can|could|does|do|"
                  r"did|will|would|should|must|may|might|has|have|had|needs?|requires?|returns?|"
                  r"only|one|ones|case)\b))")
_ENDS_SENTENCE = lazy_re(r"[.!?:;)\"'`]$")
_LIST_ITEM = lazy_re(r"^\s*(?:[-*]|\d+[.)])\s")


class PassiveChange(Violation):
    message = "the change is stated in the passive ('{verb}')"
    comment = ("Please say what the patch does in imperative mood, e.g. 'Remove the ... check' "
               "rather than 'the ... check can be removed'.")


class FormerLatter(Violation):
    message = "'the {which}' makes the reader look back"
    comment = "Please name the thing again instead of 'the {which}'."


class NoFinalPeriod(Violation):
    message = "the changelog's last sentence has no final period"
    comment = "Nit: the last sentence is missing its period."


def check_patch(ctx):
    for index, sentence in sentences(ctx.patch.prose_lines):
        if m := passive_change(sentence):
            ctx.report(ChangelogLine(index), PassiveChange(verb=" ".join(m.group(1).split())))
        if f := _FORMER.search(sentence):
            ctx.report(ChangelogLine(index), FormerLatter(which=f.group(1)))
    if (index := _unended_last_line(ctx.patch)) is not None:
        ctx.report(ChangelogLine(index), NoFinalPeriod(), severity="info")


def _unended_last_line(patch) -> int | None:
    """The index of the changelog's last line when it ends a prose
    sentence of four words or more without its period."""
    para = _closing_paragraph(patch)
    if para and not _LIST_ITEM.match(para[0][1]):
        index, text = para[-1]
        words = " ".join(t for _, t in para).split()
        if len(words) >= 4 and not _ENDS_SENTENCE.search(text.rstrip()) and "://" not in text:
            return index
    return None


def _closing_paragraph(patch) -> list[tuple[int, str]]:
    """The prose paragraph that ends the changelog (nothing but trailers
    after it), or [] when a quoted log or code block ends it."""
    trailer_lines = {t.line for t in patch.trailers}
    body = [(i, t) for i, t in enumerate(patch.changelog_lines) if i not in trailer_lines]
    while body and not body[-1][1].strip():
        body.pop()
    prose = dict(patch.prose_lines)
    para = []
    for index, text in reversed(body):
        if not text.strip():
            break
        if index not in prose or text.lstrip().startswith("["):
            return []
        para.append((index, text))
    return para[::-1]


INVALID = [
    Case(changelog="TDH.SYS.DISABLE scrubs poison left by a partial write.\n\n"
                   "With the poison scrubbed, the X86_BUG_TDX_PW_MCE check in\n"
                   "machine_kexec_prepare() that refuses kexec can be dropped.",
         at=('changelog:3: With the poison scrubbed',), why="'... check ... can be dropped'"),
    Case(changelog="A new helper is added to mask the status, and tdx_status() is\n"
                   "removed.", at=('changelog:1: A new helper is added',),
         why="two passives in one sentence: one finding for the sentence"),
    Case(changelog="Both leaves can return TDX_SYS_BUSY; the latter only during an update.\n"
                   "Loop on it until it clears.", at=('changelog:1: the latter only during',),
         why="'the latter' standing for a leaf"),
    Case(changelog="Print the status of the failing SEAMCALL so there is a breadcrumb",
         at=('changelog:1: Print the status',), why="last sentence without its period (info)"),
]

VALID = [
    Case(changelog="Since TDH.SYS.DISABLE scrubs the poison, remove the X86_BUG_TDX_PW_MCE check.",
         why="imperative"),
    Case(changelog="The check was added in commit 1234567890ab (\"x86/kexec: Refuse kexec on\n"
                   "erratum platforms\"). Remove it.", why="history"),
    Case(changelog="The page is freed when the TD is torn down, so keep the reference until\n"
                   "then.", why="runtime behaviour, not the change"),
    Case(changelog="Add the two leaves. The former version of the helper stays for KVM.",
         why="'the former' with a noun after it"),
    Case(changelog="Remove the inline from tdx_tdr_pa() so that it is clear that it does not\n"
                   "need to be inlined, unlike tdx_tdvpr_pa(). The helper need not be removed.",
         why="a subordinate clause and a negation (a real tip changelog)"),
    Case(changelog="Print the status:\n\n  - once per boot\n  - with the leaf name", why="list ends the changelog"),
]
