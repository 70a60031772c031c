"""Issue 24: style follows the maintainer tree that takes the code, and a
style remark on a line a later patch of the series removes again is not
made (a stub that never reaches the tree in that form)."""
from __future__ import annotations

from mails import mbox, patch_mail

from tdxbot.lint.areas import GENERIC, KVM_X86, TIP, tree_of
from tdxbot.lint.engine import review_series
from tdxbot.mail.assembly import assemble
from tdxbot.mail.sources import load_local

PATH = "arch/x86/virt/vmx/tdx/tdx.c"
LINE = "\tret = 0; /* assume the module is quiet */"


def test_the_tree_table():
    assert tree_of(PATH) is TIP and tree_of("arch/x86/coco/tdx/tdx.c") is TIP
    assert tree_of("arch/x86/kvm/vmx/tdx.c") is KVM_X86 and tree_of("virt/kvm/kvm_main.c") is KVM_X86
    assert tree_of("arch/x86/include/asm/kvm_host.h") is KVM_X86
    assert tree_of("arch/x86/xen/enlighten.c") is GENERIC and tree_of("mm/memory.c") is GENERIC


def _review(tmp_path, *mails):
    box = tmp_path / "series.mbox"
    box.write_bytes(mbox(*mails))
    return review_series(assemble(load_local(str(box)), None, "test"))


def _removing(msgid: str, reply_to: str, subject: str) -> str:
    diff = "\n".join([f"diff --git a/{PATH} b/{PATH}", "index 2222222..3333333 100644", f"--- a/{PATH}",
                      f"+++ b/{PATH}", "@@ -10,3 +10,3 @@", " context one", "-" + LINE,
                      "+\tret = tdx_sys_quiesce();", " context two"])
    return patch_mail(subject, msgid, in_reply_to=reply_to, diff=diff,
                      changelog="Quiesce the module for real.")


def test_a_style_remark_on_a_line_a_later_patch_removes_is_not_made(tmp_path):
    cover = "c0@example.org"
    first = patch_mail("[PATCH 1/2] x86/virt/tdx: Add the quiesce step", "p1@example.org",
                       in_reply_to=cover, code=LINE, changelog="Add the quiesce step.")
    second = _removing("p2@example.org", cover, "[PATCH 2/2] x86/virt/tdx: Quiesce the module")
    cover_mail = patch_mail("[PATCH 0/2] x86/virt/tdx: Quiesce", cover, diff="", changelog="Two steps.")
    rules = {f.rule for f in _review(tmp_path, cover_mail, first, second).findings if f.path}
    assert "comment-tail" not in rules


def test_the_same_line_kept_by_the_series_is_remarked_on(tmp_path):
    only = patch_mail("[PATCH] x86/virt/tdx: Add the quiesce step", "p1@example.org", code=LINE,
                      changelog="Add the quiesce step.")
    rules = {f.rule for f in _review(tmp_path, only).findings if f.path}
    assert "comment-tail" in rules


def test_kvm_code_is_not_held_to_tips_tail_comment_rule(tmp_path):
    only = patch_mail("[PATCH] KVM: TDX: Assume a quiet module", "p1@example.org", code=LINE,
                      path="arch/x86/kvm/vmx/tdx.c", changelog="Assume the module is quiet.")
    rules = {f.rule for f in _review(tmp_path, only).findings if f.path}
    assert "comment-tail" not in rules
