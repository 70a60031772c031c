"""Scope: with b4's check hooks set globally, tdxbot sees every patch of
every subsystem. b4-check, b4-review-check (and check, in test_check.py)
review only patches that touch TDX or name it in the subject, unless --all
or git config tdxbot.scope=all; a patch left out prints nothing, which b4
shows as passed."""
import json
import re
import subprocess

import pytest
from conftest import b4_command, git_tree, run_cli
from mails import mbox, patch_mail, plain_mail

from tdxbot.lint.areas import patch_in_scope
from tdxbot.mail.sources import load_local

# A null_blk patch with changelog opinions tdxbot would voice if it looked.
NULL_BLK = patch_mail("[PATCH] null_blk: Fix the timeout handling", "nb@example.org",
                      changelog="We fix the timeout handling here.", code="\tint timeout;",
                      path="drivers/block/null_blk/main.c")
# Outside the TDX paths, but the subject says it is about TDX.
REBOOT = patch_mail("[PATCH] x86/reboot: Shut TDX down before kexec", "rb@example.org",
                    changelog="We shut the TDX module down before kexec.", code="\ttdx_shutdown();",
                    path="arch/x86/kernel/reboot.c")


@pytest.fixture
def home(tmp_path):
    """A user with no git config of their own, running from an empty folder."""
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "GIT_CONFIG_NOSYSTEM": "1"}
    return env


def _git_config(home, text: str) -> None:
    with open(f"{home['HOME']}/.gitconfig", "w") as fh:
        fh.write(text)


def _b4_check(home, mail: str, *args):
    return run_cli("b4-check", *args, stdin=mail.encode(), env=home, cwd=home["HOME"])


def test_b4_check_prints_nothing_for_a_patch_outside_tdx(home):
    res = _b4_check(home, NULL_BLK)
    assert (res.returncode, res.stdout, res.stderr) == (0, b"", b"")
    everything = _b4_check(home, NULL_BLK, "--all")
    assert everything.returncode == 0 and b"[changelog-voice]" in everything.stdout, \
        "with --all the same patch has findings: the silence is the scope's doing"


def test_a_subject_naming_tdx_is_in_scope(home):
    res = _b4_check(home, REBOOT)
    assert res.returncode == 0 and b"[changelog-voice]" in res.stdout
    assert res.stdout.decode().startswith("[1/1 x86/reboot: Shut TDX down before kexec] changelog:1: ")


def test_git_config_scope(home):
    _git_config(home, "[tdxbot]\n\tscope = all\n")
    assert b"[changelog-voice]" in _b4_check(home, NULL_BLK).stdout
    _git_config(home, "[tdxbot]\n\tscope = everything\n")
    res = _b4_check(home, NULL_BLK)
    assert res.returncode == 0 and res.stdout == b""
    assert res.stderr.decode().strip() == \
        "tdxbot: warning: git config tdxbot.scope: 'everything' is not one of tdx, all; using tdx"


def test_b4_review_check_gives_no_record_outside_tdx(home, tmp_path):
    res = run_cli("b4-review-check", stdin=NULL_BLK.encode(), env=home, cwd=tmp_path)
    assert res.returncode == 0 and json.loads(res.stdout) == []
    (record,) = json.loads(run_cli("b4-review-check", "--all", stdin=NULL_BLK.encode(), env=home,
                                   cwd=tmp_path).stdout)
    assert record["status"] == "warn"


def test_b4_review_check_series_reviews_only_the_tdx_patches(home, tmp_path):
    cover = "mixed-0@example.org"
    mails = [plain_mail("[PATCH 0/2] Two fixes", cover, "Two fixes.", author="Alice Example <alice@example.org>")]
    mails.append(patch_mail("[PATCH 1/2] null_blk: Fix the timeout", "mixed-1@example.org", in_reply_to=cover,
                            changelog="We fix the timeout.", path="drivers/block/null_blk/main.c"))
    mails.append(patch_mail("[PATCH 2/2] x86/virt/tdx: Fix the timeout", "mixed-2@example.org",
                            in_reply_to=cover, changelog="We fix the TDX timeout."))
    (record,) = json.loads(run_cli("b4-review-check", "--series", stdin=mbox(*mails), env=home,
                                   cwd=tmp_path).stdout)
    assert record["summary"].endswith(" in 1 patch (1 not touching TDX left out)"), record
    assert "[2/2]" in record["details"] and "[changelog-voice]" in record["details"]
    assert "[1/2]" not in record["details"]


@pytest.mark.parametrize("path,subject,expected", [
    ("arch/x86/virt/vmx/tdx/tdx.c", "x86/virt/tdx: Fix it", True),
    ("arch/x86/kvm/vmx/tdx.c", "KVM: TDX: Fix it", True),
    ("Documentation/arch/x86/tdx.rst", "Documentation/x86: Fix it", True),
    ("arch/x86/include/asm/shared/tdx_errno.h", "x86/tdx: Fix it", True),
    ("mm/page_alloc.c", "mm: Fix a SEAMCALL caller", True),
    ("arch/x86/kernel/reboot.c", "x86/reboot: Fix it", False),
    ("drivers/block/null_blk/main.c", "null_blk: Fix the timeout", False),
    ("mm/page_alloc.c", "mm: Fix the stdx helper", False),
])
def test_what_is_in_scope(tmp_path, path, subject, expected):
    mail = tmp_path / "one.eml"
    mail.write_text(patch_mail(f"[PATCH] {subject}", "s@example.org", path=path))
    patch = _only_patch(mail)
    assert patch_in_scope(patch) is expected


def test_a_move_out_of_tdx_code_is_in_scope(tmp_path):
    """The old path of a rename counts: moving TDX code away is TDX's business."""
    diff = "\n".join(["diff --git a/arch/x86/virt/vmx/tdx/seam.c b/arch/x86/kernel/seam.c",
                      "similarity index 100%", "rename from arch/x86/virt/vmx/tdx/seam.c",
                      "rename to arch/x86/kernel/seam.c"])
    mail = tmp_path / "move.eml"
    mail.write_text(patch_mail("[PATCH] x86: Move the loader", "mv@example.org", diff=diff))
    assert patch_in_scope(_only_patch(mail))


def _only_patch(path):
    from tdxbot.mail.assembly import assemble

    (patch,) = assemble(load_local(str(path)), None, "t").patches
    return patch


def test_b4_prep_check_passes_a_patch_outside_tdx(tmp_path):
    """b4 itself, on a prep branch with a TDX patch and a null_blk patch:
    the null_blk one is shown as passed though its changelog says 'We'."""
    b4 = b4_command()
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    import os
    import sys

    env = dict(os.environ, **env)
    repo = tmp_path / "linux"
    git = git_tree(repo, env, {"arch/x86/virt/vmx/tdx/tdx.c": "int placeholder;\n",
                               "drivers/block/null_blk/main.c": "int placeholder;\n"})
    subprocess.run([b4, "prep", "-n", "mixed"], cwd=repo, env=env, check=True, capture_output=True)
    sob = "\n\nSigned-off-by: Nadia Okafor <nadia@example.com>"
    for rel, subject in (("drivers/block/null_blk/main.c", "null_blk: Fix the timeout"),
                         ("arch/x86/virt/vmx/tdx/tdx.c", "x86/virt/tdx: Add tdx_quiesce()")):
        with open(repo / rel, "a") as fh:
            fh.write("int more;\n")
        git("commit", "-qam", f"{subject}\n\nWe change it here.{sob}")
    script = os.path.join(os.path.dirname(sys.executable), "tdxbot")
    cmd = script if os.path.exists(script) else f"{sys.executable} -m tdxbot"
    res = subprocess.run([b4, "-c", f"b4.prep-perpatch-check-cmd={cmd} b4-check", "prep", "--check"],
                         cwd=repo, env=env, capture_output=True, timeout=300)
    text = re.sub(r"\x1b\[[0-9;]*m", "", res.stdout.decode() + res.stderr.decode())
    assert res.returncode == 0, text
    null_blk = text.split("null_blk: Fix the timeout", 1)[1].split("x86/virt/tdx:", 1)[0]
    assert "tdxbot:" not in null_blk, text
    tdx = text.split("Add tdx_quiesce()", 1)[1]
    assert "[changelog-voice]" in tdx, text
    assert "Success: 1," in text, "b4 counts the null_blk patch as passed"
