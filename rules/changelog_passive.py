"""The changelog states the change in the passive, or leans on "the former/the latter".

What it flags: (a) a changelog sentence that states a change to the code
in the passive: a piece of code (a check, a helper, a define, an
identifier) that "is added", "can be dropped", "should be removed", "gets
moved"; history ("was added in commit ...") and runtime behaviour ("the
page is freed", "a range ... takes the old path and is converted in one
go") are left alone; (b) "the former" or "the latter" standing for
something the reader has to look back for. (A last sentence without its
full stop is changelog-final-period's nit, not a matter of voice.)

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

from ..lint.kit import GENERIC, KVM_X86, TIP, Case, ChangelogLine, Violation, lazy_re, passive_change, sentences

ID = "changelog-passive"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'maintainer-tip.rst, "Changelog": imperative mood',
         KVM_X86: 'maintainer-kvm-x86.rst, "Changelog": imperative mood',
         GENERIC: 'submitting-patches.rst, "Describe your changes": imperative mood'}
TOPICS = ("passive", "imperative", "former", "latter")

# "the latter" standing alone: before a verb, punctuation or the end.
_FORMER = lazy_re(r"\b[Tt]he (former|latter)\b(?=\s*(?:[.,;:)!?]|$|(?:is|are|was|were|can|could|does|do|"
                  r"did|will|would|should|must|may|might|has|have|had|needs?|requires?|returns?|"
                  r"only|one|ones|case)\b))")


class PassiveChange(Violation):
    message = "the change is stated in the passive ('{verb}')"
    comment = ("Please say what the patch does in imperative mood, e.g. 'Remove the ... check' "
               "rather than 'the ... check can be removed'.")


class FormerLatter(Violation):
    message = "'the {which}' makes the reader look back"
    comment = "Please name the thing again instead of 'the {which}'."


def check_patch(ctx):
    for index, sentence in sentences(ctx.patch.prose_lines):
        if m := passive_change(sentence):
            ctx.report(ChangelogLine(index), PassiveChange(verb=" ".join(m.group(1).split())))
        if f := _FORMER.search(sentence):
            ctx.report(ChangelogLine(index), FormerLatter(which=f.group(1)))


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
    Case(changelog="Print the status of the failing SEAMCALL so there is a breadcrumb",
         why="a missing full stop is no passive (changelog-final-period's nit)"),
    Case(changelog="Walk the range one page at a time outside the direct map. A range that lies\n"
                   "entirely in the direct map still takes the old path and is converted in one go.",
         why="runtime behaviour: the range is converted, not the code (the 'and' shares the subject)"),
]
