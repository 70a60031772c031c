"""The series rules end to end: a tiny kernel-like tree in a real git
repository, a series committed on it, written out with
`git format-patch --cover-letter --thread` (and a v2 of it), and
`tdxbot review` run on the result as a user would. Line numbers in the
findings are those of the files git committed."""
from __future__ import annotations

import json
import os

from conftest import git_tree, run_cli

TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"
CRASH_C = "arch/x86/kernel/crash.c"

BASE = {
    TDX_C: "#include <linux/kernel.h>\n\nstatic int tdx_module_status;\n\n"
           "int tdx_enable(void)\n{\n\treturn 0;\n}\n",
    CRASH_C: "#include <linux/kernel.h>\n\nvoid native_machine_crash_shutdown(void)\n{\n"
             "\tlocal_irq_disable();\n}\n",
}
WRAPPER = ("\nstatic int tdx_sys_disable(void)\n{\n\tstruct tdx_module_args args = {};\n\n"
           "\treturn seamcall_prerr(TDH_SYS_DISABLE, &args);\n}\n")
CALLER = "\nvoid tdx_shutdown(void)\n{\n\ttdx_sys_disable();\n}\n"


def _env(tmp_path):
    return dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1", LC_ALL="C",
                GIT_AUTHOR_DATE="1789000000 +0000", GIT_COMMITTER_DATE="1789000000 +0000")


def _commit(git, root, path, text, subject):
    (root / path).write_text(text)
    git("add", "-A")
    git("commit", "-qm", f"{subject}\n\nDo it.\n\nSigned-off-by: Nadia Okafor <nadia@example.com>")


def _line_of(root, path, text) -> int:
    """The line of path (as git committed it) that holds text."""
    lines = (root / path).read_text().split("\n")
    return next(i for i, ln in enumerate(lines, 1) if text in ln)


def _review(out, *extra):
    res = run_cli("review", out, "--format", "json", "--select",
                  "helper-before-user,series-churn,version-notes-mismatch", *extra)
    assert res.returncode in (0, 1), res.stderr.decode()[-2000:]
    return json.loads(res.stdout)["findings"]


def test_helper_before_user_and_churn_from_format_patch(tmp_path):
    root = tmp_path / "linux"
    root.mkdir()
    env = _env(tmp_path)
    git = git_tree(root, env, BASE)
    _commit(git, root, TDX_C, BASE[TDX_C] + WRAPPER, "x86/virt/tdx: Add a SEAMCALL wrapper for TDH.SYS.DISABLE")
    wrapper_line = _line_of(root, TDX_C, "static int tdx_sys_disable")
    _commit(git, root, TDX_C, BASE[TDX_C] + WRAPPER + CALLER, "x86/virt/tdx: Disable the module on shutdown")
    rewritten = BASE[TDX_C] + WRAPPER.replace("seamcall_prerr(", "seamcall(") + CALLER
    _commit(git, root, TDX_C, rewritten, "x86/virt/tdx: Do not print SEAMCALL errors")
    rewritten_line = _line_of(root, TDX_C, "return seamcall(TDH_SYS_DISABLE")
    out = tmp_path / "out"
    git("format-patch", "-q", "--cover-letter", "--thread", "-o", str(out), "HEAD~3..HEAD")
    findings = _review(out)
    got = sorted((f["rule"], f["patch_index"], f["path"], f["line"]) for f in findings)
    assert got == [("helper-before-user", 1, TDX_C, wrapper_line),
                   ("series-churn", 3, TDX_C, rewritten_line)], findings
    helper = next(f for f in findings if f["rule"] == "helper-before-user")
    assert "patch 2/3" in helper["message"] and "-Wunused-function" in helper["message"]
    churn = next(f for f in findings if f["rule"] == "series-churn")
    assert "patch 1/3" in churn["message"]


def test_notes_against_the_change_with_a_v2(tmp_path):
    root = tmp_path / "linux"
    root.mkdir()
    env = _env(tmp_path)
    git = git_tree(root, env, BASE)
    subject = "x86/virt/tdx: Disable the module on shutdown"
    _commit(git, root, TDX_C, BASE[TDX_C] + WRAPPER + CALLER, subject)
    v1 = tmp_path / "v1"
    git("format-patch", "-q", "--thread", "-o", str(v1), "HEAD~1..HEAD")
    git("reset", "-q", "--hard", "HEAD~1")
    # v2 also changes tdx_enable(); the notes speak only of the wrapper.
    text = (BASE[TDX_C] + WRAPPER + CALLER).replace("\treturn 0;\n", "\treturn tdx_module_status;\n")
    _commit(git, root, TDX_C, text, subject)
    changed_line = _line_of(root, TDX_C, "return tdx_module_status;")
    v2 = tmp_path / "v2"
    git("format-patch", "-q", "--thread", "--subject-prefix=PATCH v2", "-o", str(v2), "HEAD~1..HEAD")
    (patch,) = list(v2.iterdir())
    mail = patch.read_text()
    head, sep, rest = mail.partition("\n---\n")
    patch.write_text(head + sep + "v2:\n - Return the status from tdx_sys_disable()\n---\n" + rest)
    findings = _review(v2, "--previous", str(v1))
    assert [(f["rule"], f["patch_index"], f["line"]) for f in findings] == [
        ("version-notes-mismatch", 1, changed_line)], findings
    assert "tdx_enable()" in findings[0]["message"]
    # Without the previous version there is nothing to compare.
    assert _review(v2, "--previous", "none") == []
