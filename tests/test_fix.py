"""`tdxbot check --fix` and `--diff` on a real git repository: only the
fixable lines change, `git diff` shows exactly what `--diff` printed, the
amended branch reports only what needs a human, and the author's own
uncommitted work is never written over."""
import json
import subprocess

from conftest import git_tree, run_cli

TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"
BASE = """\
// SPDX-License-Identifier: GPL-2.0
#include <asm/tdx.h>

u64 tdh_phymem_page_wbinvd_hkid(u64 hkid, struct page *page)
{
	struct tdx_module_args args = {};

	return seamcall(TDH_PHYMEM_PAGE_WBINVD, &args);
}
EXPORT_SYMBOL_FOR_KVM(tdh_phymem_page_wbinvd_hkid);
"""
# Four certain fixes (a blank ' *' line, the class test, the file's export
# macro, the named version shift) and one point for the author (the loop).
ADDED = """
u64 tdh_sys_disable(void)
{
	struct tdx_module_args args = {};
	u64 ret;

	/*
	 * Keep going until the module is off.
	 *  - TDX_INTERRUPTED_RESUMABLE: an interrupt came in, go on.
	 */
	do {
		ret = seamcall(TDH_SYS_DISABLE | (1ULL << 16), &args);
	} while (ret == TDX_INTERRUPTED_RESUMABLE);

	if (ret & TDX_SW_ERROR)
		return ret;
	return 0;
}
EXPORT_SYMBOL_GPL(tdh_sys_disable);
"""


def _branch(tmp_path):
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}
    import os

    env["PATH"] = os.environ["PATH"]
    git = git_tree(tmp_path, env, {TDX_C: BASE})
    (tmp_path / TDX_C).write_text(BASE + ADDED)
    git("commit", "-qam", "x86/virt/tdx: Add tdh_sys_disable()\n\nAdd a wrapper for TDH.SYS.DISABLE.")
    return git, env


def _git_out(tmp_path, *args) -> str:
    return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, check=True).stdout.decode()


def test_fix_changes_only_fixable_lines_and_matches_diff(tmp_path):
    git, env = _branch(tmp_path)
    diff = run_cli("check", "HEAD^!", "--diff", cwd=tmp_path, env=env)
    assert diff.returncode == 1, diff.stderr  # the loop is left for the author
    assert _git_out(tmp_path, "status", "--porcelain") == "", "--diff changes nothing"
    printed = diff.stdout.decode()
    assert printed.startswith(f"diff --git a/{TDX_C} b/{TDX_C}")

    fixed = run_cli("check", "HEAD^!", "--fix", cwd=tmp_path, env=env)
    assert fixed.returncode == 1, fixed.stderr
    out = fixed.stdout.decode()
    for rule in ("comment-list-spacing", "tdx-sw-error-mask", "tdx-export", "tdx-leaf-version-bits"):
        assert f"fixed: {TDX_C}:" in out and f"[{rule}]" in out, out
    assert "[tdx-unbounded-retry]" not in out, "no fix where intent has to be guessed"
    assert _git_out(tmp_path, "diff") == printed, "git diff shows what --diff printed"

    text = (tmp_path / TDX_C).read_text()
    assert "\t * Keep going until the module is off.\n\t *\n\t *  - TDX_INTERRUPTED" in text
    assert "if ((ret & TDX_SW_ERROR) == TDX_SW_ERROR)" in text
    assert "EXPORT_SYMBOL_FOR_KVM(tdh_sys_disable);" in text
    assert "TDH_SYS_DISABLE | (1ULL << TDX_VERSION_SHIFT)" in text
    changed = [ln for ln in _git_out(tmp_path, "diff", "-U0").splitlines()
               if ln.startswith(("+", "-")) and not ln.startswith(("+++", "---"))]
    assert len(changed) == 7, changed  # 3 lines replaced, 1 line added

    git("commit", "-qa", "--amend", "--no-edit")
    again = run_cli("check", "HEAD^!", "--format", "json", cwd=tmp_path, env=env)
    rules = {f["rule"] for f in json.loads(again.stdout)["findings"] if f["severity"] != "info"}
    assert rules == {"tdx-unbounded-retry"}, rules


def test_uncommitted_work_in_the_same_place_is_left_alone(tmp_path):
    git, env = _branch(tmp_path)
    path = tmp_path / TDX_C
    mine = path.read_text().replace("\tif (ret & TDX_SW_ERROR)\n",
                                    "\t/* my own note */\n\tif (ret & TDX_SW_ERROR)\n")
    path.write_text(mine)
    res = run_cli("check", "HEAD^!", "--fix", cwd=tmp_path, env=env)
    out = res.stdout.decode()
    assert "not fixed (uncommitted changes in the same place)" in out and "[tdx-sw-error-mask]" in out
    text = path.read_text()
    assert "/* my own note */\n\tif (ret & TDX_SW_ERROR)" in text, "the author's lines stay as they are"
    assert "EXPORT_SYMBOL_FOR_KVM(tdh_sys_disable);" in text, "fixes elsewhere in the file still apply"


def test_json_and_sarif_carry_the_fixes(tmp_path):
    _git, env = _branch(tmp_path)
    res = run_cli("check", "HEAD^!", "--format", "json", cwd=tmp_path, env=env)
    findings = json.loads(res.stdout)["findings"]
    export = next(f for f in findings if f["rule"] == "tdx-export")
    assert export["fix"] == [{"path": TDX_C, "start": {"line": 29, "column": 0},
                              "end": {"line": 29, "column": 34},
                              "text": "EXPORT_SYMBOL_FOR_KVM(tdh_sys_disable)"}]
    assert next(f for f in findings if f["rule"] == "tdx-unbounded-retry")["fix"] == []
    sarif = json.loads(run_cli("check", "HEAD^!", "--format", "sarif", cwd=tmp_path, env=env).stdout)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "tdx-export")
    change = result["fixes"][0]["artifactChanges"][0]
    assert change["artifactLocation"]["uri"] == TDX_C
    assert change["replacements"][0]["deletedRegion"] == {"startLine": 29, "startColumn": 1,
                                                          "endLine": 29, "endColumn": 35}
