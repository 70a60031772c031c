"""The changelog never says what the patch does.

What it flags: a changelog in which no sentence states the change, only
background ("X happens, Y needs Z, the spec says ..."), and a changelog
that does nothing but restate the subject. Each sentence is judged on its
own: it states the change when its main clause is an imperative ("Add
...", "So loop ...", "Since ..., remove ..."), or it says "This patch adds
...", "Adds ...", or "X can be dropped" (the mood is the business of
changelog-imperative, changelog-voice and changelog-passive). An imperative
that hangs off a background clause ("The kernel only supports upgrades, so
simply request the newest version") tells a detail, not the change, unless
its verb is one that changes the tree ("..., so move it to ..."). "To
address this, X should ..." states the remedy too (its mood is
changelog-imperative's business).

When the subject already states the change in the imperative, a body that
goes on to tell what the new code does is enough: a sentence about a name
the patch brings in ("guest.enc_status_change_prepare() is called before
the direct mapping changes and converts the memory to private"). Only a
body of pure background is flagged then.

Why: the tip handbook wants a changelog that explains the problem and then
says what the patch does about it, and reviewers on the TDX lists ask for
exactly that when it is missing: "somewhere it's missing what this patch
does" (a module-update patch that described only how the handoff version
is chosen), "the changelog just repeats the subject; why is this needed?".

Fires on a changelog made of "Replacing a running module starts with
taking the current one down. The kernel only supports upgrades, so simply
request the highest handoff version."
Must not fire on "... So loop infinitely on either of these error codes,
until success or other error." (the TDH.SYS.DISABLE changelog), nor,
under the subject "x86/tdx: Convert to private before the direct map
changes", on a body whose sentence opens with the new hook the patch
installs and says what it does.
"""
from __future__ import annotations

from ..lint.kit import (GENERIC, KVM_X86, TIP, WORD, Case, ChangelogLine, Violation, is_imperative,
                        lazy_re, sentences, statement_mood)

ID = "changelog-says-what"
SEVERITY = "warning"
PATHS = None
TREES = {TIP: 'maintainer-tip.rst, "Changelog": "explain the context, the problem and the solution"',
         KVM_X86: 'maintainer-kvm-x86.rst, "Changelog": "lead with a short blurb on the actual changes"',
         GENERIC: 'submitting-patches.rst, "Describe your changes"'}
TOPICS = ("what this patch does", "what the patch does", "what it does", "describe", "explain",
          "changelog", "why", "repeats the subject", "restates")

_NAME = lazy_re(r"[A-Za-z_][A-Za-z0-9_]*+")
_FILLER = frozenset("a an the of for to in on and or with from by into when that this its".split())


class RepeatsSubject(Violation):
    message = "the changelog only repeats the subject"
    comment = ("The changelog only repeats the subject. Please say why the change is needed: what "
               "goes wrong without it, or what it makes possible.")


class ChangeNotSaid(Violation):
    message = "no sentence of the changelog says what the patch does"
    comment = ("The changelog explains the background but never says what this patch does. Please "
               "add a sentence that states the change, in imperative mood ('Add ...', 'Shut down "
               "... before ...').")


def check_patch(ctx):
    said = sentences(ctx.patch.prose_lines)
    if not said:
        return
    subject = _content(ctx.patch.summary)
    if all(_restates(text, subject) for _, text in said):
        ctx.report(ChangelogLine(said[0][0]), RepeatsSubject())
    elif not any(statement_mood(text) for _, text in said) and not _tells_new_code(ctx, said):
        ctx.report(ChangelogLine(said[0][0]), ChangeNotSaid())


def _tells_new_code(ctx, said) -> bool:
    """Under a subject that states the change in the imperative: does a
    sentence of the body open with a name only the patch's added lines
    hold (a function or hook it brings in), telling what that code does?"""
    words = ctx.patch.summary.split()
    if not words or not is_imperative(words[0].strip("'\"")):
        return False
    openers = {i: _NAME.findall(text.split()[0]) for i, text in said if text.split()}
    wanted = {n for names in openers.values() for n in names if "_" in n}
    if not wanted:
        return False
    new = {n for _, line in ctx.added_lines() for n in _NAME.findall(line.text) if n in wanted}
    if not new:
        return False
    new -= {n for text in ctx.removed_lines() for n in _NAME.findall(text)}
    new -= {n for diff in ctx.patch.files for hunk in diff.hunks for ln in hunk.lines
            if ln.kind == " " for n in _NAME.findall(ln.text)}
    return any(set(names) & new for names in openers.values())


def _content(text: str) -> set[str]:
    return set(map(str.lower, WORD.findall(text))) - _FILLER


def _restates(sentence: str, subject: set[str]) -> bool:
    """subject: the _content() of the subject's summary."""
    mine = _content(sentence)
    return bool(subject) and len(mine - subject) <= 1 and len(mine & subject) >= max(1, len(subject) - 1)


_SHUTDOWN = ("Replacing a running TDX module starts with taking the current one down.\n"
             "The layout of the handoff data changes between module releases, so it\n"
             "carries a version.\n\n"
             "The kernel only supports module upgrades, so simply request the highest\n"
             "handoff version the running module offers.")

INVALID = [
    Case(changelog=_SHUTDOWN, at=('changelog:1: Replacing a running TDX module',),
         why="background, and an imperative hanging off a background clause"),
    Case(changelog="The TDX module can now be shut down. Before kexec it has to be, because\n"
                   "the next kernel needs a clean module.",
         at=('changelog:1: The TDX module can now',), why="background only"),
    Case(subject="x86/virt/tdx: Add tdx_sys_shutdown()", changelog="Add tdx_sys_shutdown().",
         at=('changelog:1: Add tdx_sys_shutdown().',), why="only the subject, again"),
    Case(changelog="TDH.SYS.SHUTDOWN returns TDX_SYS_BUSY while another TDH.SYS leaf runs.\n"
                   "- The module retries internally.\n- The caller sees the status only once.",
         at=('changelog:1: TDH.SYS.SHUTDOWN returns',), why="a list of facts is still background"),
    Case(subject="x86/virt/tdx: Shut down the TDX module before kexec",
         changelog="tdx_cpu_enable() leaves the module running across kexec. The next kernel\n"
                   "then finds it initialized and cannot set it up again.",
         before="\ttdx_cpu_enable();", code="\ttdx_sys_shutdown();",
         at=('changelog:1: tdx_cpu_enable() leaves',),
         why="an imperative subject over pure background: the name the body opens with is old code"),
]

VALID = [
    Case(changelog="The SEAMCALL can return two different error codes that expect a retry.\n\n"
                   "So loop infinitely on either of these error codes, until success or other\n"
                   "error.", why="the seed: 'So loop ...' in its own sentence"),
    Case(changelog="The module keeps poison around after a partial write. Since TDH.SYS.DISABLE\n"
                   "clears it, remove the X86_BUG_TDX_PW_MCE check.", why="'Since ..., remove ...'"),
    Case(changelog="The helper is only used by KVM, so move it to arch/x86/kvm/vmx/tdx.c.",
         why="a change verb after a background clause"),
    Case(changelog="Before kexec the module must be shut down.\n\nThis patch adds tdx_sys_shutdown().",
         why="'This patch adds' says what (changelog-voice judges the wording)"),
    Case(changelog="With the poison scrubbed, the X86_BUG_TDX_PW_MCE check in\n"
                   "machine_kexec_prepare() can be dropped.",
         why="a passive still says what (changelog-passive judges the wording)"),
    Case(subject="x86/virt/tdx: Add tdx_sys_shutdown()",
         changelog="Add tdx_sys_shutdown(), so that kexec can leave the module in a clean state.",
         why="the subject plus why"),
    Case(subject="x86/tdx: Convert to private before the direct map changes", path="arch/x86/coco/tdx/tdx.c",
         changelog="A private GPA that was not converted first makes the guest exit to the VMM.\n\n"
                   "guest.enc_status_change_prepare() runs before the direct mapping is\n"
                   "adjusted and converts the memory to private.",
         before="\tx86_platform.guest.enc_status_change_finish = tdx_enc_status_changed;",
         code="\tx86_platform.guest.enc_status_change_prepare = tdx_enc_status_change_prepare;",
         why="the subject states the change and the body tells what the new hook does"),
    Case(subject="x86/tdx: Avoid a BUG_ON() when kexec converts memory back", path="arch/x86/coco/tdx/tdx.c",
         changelog="The page table walk in slow_virt_to_phys() trips its BUG_ON() when kexec\n"
                   "has cleared the entry.\n\n"
                   "To address this, tdx_enc_status_changed() should take the __pa() path for\n"
                   "direct-map addresses.", code="\tpa = __pa(vaddr);",
         why="'To address this, X should ...' states the remedy (changelog-imperative judges the mood)"),
]
