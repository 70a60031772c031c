"""tdxbot check on real git repositories: ranges, b4 prep branches (made by
b4 itself), whole-file context, SARIF, exit codes, config and checkpatch."""
import email
import json
import os
import re
import subprocess
from email import policy
from pathlib import Path

import pytest
from conftest import b4_command, run_cli

TDX_C = "arch/x86/virt/vmx/tdx/tdx.c"
BASE_TDX_C = """\
// SPDX-License-Identifier: GPL-2.0
#include <asm/tdx.h>

void tdx_sys_disable(void)
{
	struct tdx_module_args args = {};
	u64 ret;

	/*
	 * Loop until the SEAMCALL completes:
	 *
	 *  - TDX_INTERRUPTED_RESUMABLE guarantees forward progress between
	 *    calls.
	 *
	 *  - TDX_SYS_BUSY clears once the other TDH.SYS.* SEAMCALLs are
	 *    locked out.
	 */
	do {
		ret = seamcall(TDH_SYS_DISABLE, &args);
	} while (ret == TDX_INTERRUPTED_RESUMABLE);

	if (ret && (ret & TDX_SW_ERROR) != TDX_SW_ERROR)
		pr_err("TDH.SYS.DISABLE failed: 0x%016llx\\n", ret);
}
"""
GOOD_FN = """
u64 tdh_sys_shutdown(void)
{
	struct tdx_module_args args = {};

	return seamcall(TDH_SYS_SHUTDOWN, &args);
}
"""
BAD_FN = """
int tdx_quiesce(void)
{
	struct tdx_module_args args = {};
	u64 err;

	err = seamcall(TDH_SYS_SHUTDOWN, &args);
	if (err == TDX_OPERAND_BUSY)
		return -EBUSY;
	return err ? -EIO : 0;
}
"""


def _env(home: Path) -> dict:
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local"),
            "GIT_CONFIG_NOSYSTEM": "1"}


class Repo:
    def __init__(self, path: Path, env: dict):
        self.path = path
        self.env = dict(os.environ, **env)

    def git(self, *args) -> str:
        res = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        return res.stdout.strip()

    def write(self, rel: str, text: str, append: bool = False) -> None:
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a" if append else "w") as fh:
            fh.write(text)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def check(self, *args, cwd=None):
        return run_cli("check", *args, cwd=cwd or self.path, env=self.env)


SOB = "\n\nSigned-off-by: Nadia Okafor <nadia@example.com>"


@pytest.fixture
def repo(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)
    r = Repo(tmp_path / "linux", env)
    r.path.mkdir()
    r.git("init", "-q", "-b", "master")
    r.git("config", "user.name", "Nadia Okafor")
    r.git("config", "user.email", "nadia@example.com")
    r.write(TDX_C, BASE_TDX_C)
    r.write("Documentation/arch/x86/tdx.rst", "TDX\n===\n")
    r.commit("Initial tree")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True, env=r.env)
    r.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    r.git("push", "-q", "origin", "master")
    r.git("checkout", "-q", "-b", "topic", "--track", "origin/master")
    return r


def _json(res):
    assert res.returncode in (0, 1), res.stderr.decode()
    return json.loads(res.stdout)


def test_upstream_range_is_the_default_and_merges_are_skipped(repo):
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nAdd tdh_sys_shutdown() for the kexec path." + SOB)
    repo.git("checkout", "-q", "-b", "side")
    repo.write("Documentation/arch/x86/tdx.rst", "\nShutdown\n--------\n\nThe module is shut down.\n", append=True)
    repo.commit("Documentation/x86: Describe the shutdown\n\nDescribe the new shutdown step." + SOB)
    repo.git("checkout", "-q", "topic")
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side")
    res = repo.check("--format", "json")
    report = _json(res)
    assert res.returncode == 1
    patches = report["series"][0]["patches"]
    assert [p["subject"].split("] ", 1)[1] for p in patches] == [
        "x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper", "Documentation/x86: Describe the shutdown",
        "x86/virt/tdx: Add tdx_quiesce()"]
    unmasked = [f for f in report["findings"] if f["rule"] == "tdx-status-unmasked"]
    assert [(f["patch_index"], f["path"]) for f in unmasked] == [(3, TDX_C)]
    text = repo.check().stdout.decode()
    assert "skipped merge" in text and "checked origin/master..HEAD" in text
    assert _json(repo.check("HEAD~1..HEAD", "--format", "json"))["series"][0]["patches"][0]["index"] == 1


def test_fail_on_moves_the_threshold(repo):
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nWe add tdh_sys_shutdown() here." + SOB)
    res = repo.check("--format", "json")
    assert res.returncode == 1
    assert {f["severity"] for f in _json(res)["findings"]} == {"warning"}
    assert repo.check("--fail-on", "error").returncode == 0
    assert repo.check("--fail-on", "info").returncode == 1
    repo.git("config", "tdxbot.ignore", "changelog-voice,changelog-imperative")
    assert repo.check().returncode == 0


def test_whole_file_context_judges_a_loop_whose_comment_is_outside_the_hunk(repo, tmp_path):
    path = repo.path / TDX_C
    path.write_text(path.read_text().replace("} while (ret == TDX_INTERRUPTED_RESUMABLE);",
                                             "} while (ret == TDX_INTERRUPTED_RESUMABLE || ret == TDX_SYS_BUSY);"))
    repo.commit("x86/virt/tdx: Retry TDH.SYS.DISABLE on TDX_SYS_BUSY\n\nRetry on TDX_SYS_BUSY as well." + SOB)
    checked = _json(repo.check("--format", "json"))
    assert not [f for f in checked["findings"] if f["rule"] == "tdx-unbounded-retry"]
    mail = tmp_path / "one.patch"
    mail.write_text(repo.git("format-patch", "--stdout", "-1", "HEAD"))
    hunk_only = _json(run_cli("review", mail, "--format", "json"))
    assert [f["rule"] for f in hunk_only["findings"]] == ["tdx-unbounded-retry"], \
        "without the file, the comment above the loop is out of sight"


def test_sarif_structure(repo):
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nWe add tdx_quiesce() here." + SOB)
    log = _json(repo.check("--format", "sarif"))
    assert log["version"] == "2.1.0" and "sarif" in log["$schema"]
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "tdxbot"
    ids = [r["id"] for r in driver["rules"]]
    assert "tdx-status-unmasked" in ids and len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert rule["fullDescription"]["text"] and rule["shortDescription"]["text"]
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == TDX_C  # relative to the repository root
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert isinstance(loc["region"]["startLine"], int) and loc["region"]["startLine"] > 24
    (voice,) = [r for r in run["results"] if r["ruleId"] == "changelog-voice"]
    assert voice["locations"][0]["logicalLocations"][0]["name"] == \
        "[1/1] x86/virt/tdx: Add tdx_quiesce(): changelog line 1"
    first_added = voice["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert first_added == len(BASE_TDX_C.splitlines()) + 1, "the first line the patch adds"


_b4 = b4_command


def test_b4_prep_branch_is_the_default_series(repo):
    repo.git("checkout", "-q", "master")
    subprocess.run([_b4(), "prep", "-n", "tdx-quiesce"], cwd=repo.path, env=repo.env, check=True,
                   capture_output=True)
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nAdd tdh_sys_shutdown()." + SOB)
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)
    report = _json(repo.check("--format", "json", cwd=repo.path / "arch"))
    (series,) = report["series"]
    assert series["subject"].startswith("EDITME: cover title for tdx-quiesce")
    assert series["message_id"] and "-v1-0-" in series["message_id"]
    assert [p["index"] for p in series["patches"]] == [1, 2]
    assert all("-v1-" in p["message_id"] for p in series["patches"])
    assert any(f["rule"] == "tdx-status-unmasked" and f["patch_index"] == 2 for f in report["findings"])


def test_drafts_as_if_posted(repo, tmp_path):
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)
    drafts = tmp_path / "drafts"
    res = repo.check("--drafts", drafts, "--from", "Rita Reviewer <rita@example.org>")
    assert res.returncode == 1, res.stderr
    (draft,) = drafts.iterdir()
    msg = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert msg["Subject"] == "Re: [PATCH] x86/virt/tdx: Add tdx_quiesce()"
    assert msg["In-Reply-To"].endswith("-tdxbot-check@localhost>")
    assert msg["To"] == "Nadia Okafor <nadia@example.com>"
    assert "[tdx-status-unmasked]" in msg.get_content()


def test_config_severity_and_unknown_ids(repo):
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)
    repo.git("config", "tdxbot.severity.tdx-error-ignored", "error")
    repo.git("config", "tdxbot.ignore", "tdx-status-unmasked no-such-rule")
    res = repo.check("--format", "json")
    report = _json(res)
    rules = {f["rule"]: f["severity"] for f in report["findings"]}
    assert "tdx-status-unmasked" not in rules
    assert "no-such-rule" in res.stderr.decode() and "unknown rule" in res.stderr.decode()
    assert res.returncode in (0, 1)
    err = repo.check("--ignore", "no-such-rule")
    assert err.returncode == 2 and b"unknown rule" in err.stderr


FAKE_CHECKPATCH = r"""#!/usr/bin/perl
# A stand-in for the kernel's scripts/checkpatch.pl, with its --terse
# --show-types output as it reads a mail on stdin: "-:LINE:" is the line of
# the mail. One finding tdxbot also makes, one it does not (twice), one on
# the commit message, one on the subject, and MISSING_SIGN_OFF past the end.
my @lines = <STDIN>;
my $patch = join("", @lines);
exit 0 unless $patch =~ /tdx_quiesce/;
for my $n (1 .. @lines) {
    $_ = $lines[$n - 1];
    print "-:$n: WARNING:EMAIL_SUBJECT: A patch subject line should describe the change not the tool that found it\n" if /^Subject:/;
    print "-:$n: WARNING:COMMIT_LOG_LONG_LINE: Prefer a maximum 75 chars per line (possible unwrapped commit description?)\n" if /^Declare tdx_quiesce/;
    print "-:$n: WARNING:BLOCK_COMMENT_STYLE: Block comments use a trailing */ on a separate line\n" if /^\+ \* before kexec/;
    print "-:$n: WARNING:LINE_SPACING: Missing a blank line after declarations\n" x 2 if /^\+int tdx_quiesce/;
}
print "-:" . (@lines + 1) . ": ERROR:MISSING_SIGN_OFF: Missing Signed-off-by: line(s)\n";
exit 1;
"""

NOT_A_KERNEL_TREE = r"""#!/usr/bin/perl
print "Must be run from the top-level dir. of a kernel tree\n";
exit 2;
"""


def test_checkpatch_findings_are_merged(repo):
    repo.write("scripts/checkpatch.pl", FAKE_CHECKPATCH)
    os.chmod(repo.path / "scripts/checkpatch.pl", 0o755)
    repo.commit("scripts: Add checkpatch\n\nAdd the checker." + SOB)
    repo.git("push", "-q", "origin", "topic:master")
    repo.git("fetch", "-q", "origin")
    repo.write(TDX_C, "\n/* Quiesce the module\n * before kexec. */\nint tdx_quiesce(void);\n", append=True)
    repo.commit("x86/virt/tdx: Declare tdx_quiesce()\n\nDeclare tdx_quiesce() for the kexec path." + SOB)
    report = _json(repo.check("--checkpatch", "--format", "json"))
    rules = [(f["rule"], f["line"]) for f in report["findings"]]
    assert ("checkpatch/LINE_SPACING", 28) in rules  # the line of 'int tdx_quiesce(void);'
    assert rules.count(("checkpatch/LINE_SPACING", 28)) == 1, "deduplicated"
    assert ("comment-block-style", 27) in rules
    assert ("checkpatch/BLOCK_COMMENT_STYLE", 27) not in rules, "ours says the same thing there"
    # Commit-message findings are changelog and subject findings, not lost;
    # MISSING_SIGN_OFF is about the patch, not a line of code.
    by_rule = {f["rule"]: f for f in report["findings"] if f["rule"].startswith("checkpatch/")}
    assert by_rule["checkpatch/COMMIT_LOG_LONG_LINE"]["changelog_line"] == 1  # 1-based in the JSON
    assert by_rule["checkpatch/COMMIT_LOG_LONG_LINE"]["path"] is None
    assert by_rule["checkpatch/EMAIL_SUBJECT"]["on_subject"] is True
    assert by_rule["checkpatch/MISSING_SIGN_OFF"]["path"] is None
    assert by_rule["checkpatch/MISSING_SIGN_OFF"]["changelog_line"] is None
    plain = _json(repo.check("--format", "json"))
    assert not [r for r, _ in ((f["rule"], 0) for f in plain["findings"]) if r.startswith("checkpatch/")]


def test_checkpatch_that_cannot_run_says_why(repo):
    repo.write("scripts/checkpatch.pl", NOT_A_KERNEL_TREE)
    os.chmod(repo.path / "scripts/checkpatch.pl", 0o755)
    repo.commit("scripts: Add checkpatch\n\nAdd the checker." + SOB)
    repo.git("push", "-q", "origin", "topic:master")
    repo.git("fetch", "-q", "origin")
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nAdd tdh_sys_shutdown()." + SOB)
    res = repo.check("--checkpatch")
    said = "checkpatch did not check 1/1: Must be run from the top-level dir. of a kernel tree"
    assert said in res.stdout.decode() and said in res.stderr.decode(), res


def test_checkpatch_flag_without_the_script(repo):
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nAdd tdh_sys_shutdown()." + SOB)
    res = repo.check("--checkpatch")
    assert res.returncode == 2 and b"no scripts/checkpatch.pl" in res.stderr


def _one_line_error(res, needle):
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_errors(repo, tmp_path):
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    _one_line_error(run_cli("check", cwd=outside, env=repo.env), "not inside a git repository")
    _one_line_error(repo.check("no-such-branch..HEAD"), "unknown revision")
    _one_line_error(repo.check("HEAD..HEAD"), "empty range")
    repo.git("checkout", "-q", "-b", "loose", "master")  # a local start point: no upstream
    _one_line_error(repo.check(), "pass one")


# -- what git rev-list takes ---------------------------------------------------------

DOC = "Documentation/arch/x86/tdx.rst"


def _three_commits(repo) -> None:
    """1: the shutdown wrapper (tdx.c), 2: its documentation, 3: tdx_quiesce() (tdx.c)."""
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nAdd tdh_sys_shutdown()." + SOB)
    repo.write(DOC, "\nShutdown\n--------\n\nThe module is shut down.\n", append=True)
    repo.commit("Documentation/x86: Describe the shutdown\n\nDescribe the shutdown." + SOB)
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)


def _subjects(*args, repo):
    report = _json(repo.check("--format", "json", *args))
    return [p["subject"] for p in report["series"][0]["patches"]]


@pytest.mark.parametrize("args,expected", [
    (["HEAD^!"], ["[PATCH] x86/virt/tdx: Add tdx_quiesce()"]),
    (["-2"], ["[PATCH 1/2] Documentation/x86: Describe the shutdown",
              "[PATCH 2/2] x86/virt/tdx: Add tdx_quiesce()"]),
    (["^HEAD~2", "HEAD~1"], ["[PATCH] Documentation/x86: Describe the shutdown"]),
    (["HEAD~1"], ["[PATCH] x86/virt/tdx: Add tdx_quiesce()"]),  # a lone revision: HEAD~1..HEAD
    (["origin/master..HEAD", "--", DOC], ["[PATCH] Documentation/x86: Describe the shutdown"]),
    # Commits 1 and 3 with 2 between them: two b4 runs, numbered as one series.
    (["-3", "--", TDX_C], ["[PATCH 1/2] x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper",
                           "[PATCH 2/2] x86/virt/tdx: Add tdx_quiesce()"]),
])
def test_check_takes_what_git_rev_list_takes(repo, args, expected):
    _three_commits(repo)
    assert _subjects(*args, repo=repo) == expected


def test_a_series_with_gaps_is_numbered_and_threaded_as_one(repo, tmp_path):
    _three_commits(repo)
    report = _json(repo.check("--format", "json", "--", TDX_C))
    patches = report["series"][0]["patches"]
    assert [p["index"] for p in patches] == [1, 2]
    assert len({p["message_id"] for p in patches}) == 2
    drafts = tmp_path / "drafts"
    res = repo.check("--drafts", drafts, "--from", "Rita Reviewer <rita@example.org>", "--", TDX_C)
    assert res.returncode == 1, res.stderr
    (draft,) = drafts.iterdir()  # tdx_quiesce() has the findings
    msg = email.message_from_bytes(draft.read_bytes(), policy=policy.default)
    assert msg["Subject"] == "Re: [PATCH 2/2] x86/virt/tdx: Add tdx_quiesce()"
    assert f"<{patches[0]['message_id']}>" in msg["References"], "threaded under patch 1/2"
    assert "note: checked origin/master..HEAD -- " + TDX_C in repo.check("--", TDX_C).stdout.decode()


def test_bad_revisions_are_one_line_errors(repo):
    _three_commits(repo)
    _one_line_error(repo.check("no-such-branch"), "unknown revision")
    _one_line_error(repo.check("--fromat", "json"), "unknown option --fromat (did you mean --format?)")
    _one_line_error(repo.check("HEAD..HEAD", "--", TDX_C), "empty range")
    root = repo.git("rev-list", "--max-parents=0", "HEAD")
    _one_line_error(repo.check(f"{root}^!"), "root commit")


# -- scope -------------------------------------------------------------------------

NULL_BLK_C = "drivers/block/null_blk/main.c"


def test_a_branch_with_no_tdx_patch_is_not_checked(repo):
    repo.write(NULL_BLK_C, "int timeout;\n")
    repo.commit("null_blk: Fix the timeout\n\nWe fix the timeout here." + SOB)
    res = repo.check()
    assert (res.returncode, res.stdout) == (0, b"")
    assert res.stderr.decode() == ("tdxbot: no patch in origin/master..HEAD touches TDX or names it in "
                                   "its subject; nothing to check ('tdxbot check --all' checks them "
                                   "anyway)\n")
    everything = repo.check("--all", "--format", "json")
    assert everything.returncode == 1
    assert "changelog-voice" in {f["rule"] for f in _json(everything)["findings"]}
    repo.git("config", "tdxbot.scope", "all")
    assert repo.check().returncode == 1


def test_patches_outside_tdx_are_left_out_of_the_check(repo):
    repo.write(NULL_BLK_C, "int timeout;\n")
    repo.commit("null_blk: Fix the timeout\n\nWe fix the timeout here." + SOB)
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)
    report = _json(repo.check("--format", "json"))
    assert [p["index"] for p in report["series"][0]["patches"]] == [2]
    assert {f["patch_index"] for f in report["findings"]} == {2}
    text = repo.check().stdout.decode()
    assert "note: left out 1 patch(es) that do not touch TDX: 1/2 (--all reviews them)" in text


# -- changelog findings say which patch ----------------------------------------------


def test_changelog_findings_carry_their_patch_in_every_format(repo):
    repo.write(TDX_C, GOOD_FN, append=True)
    repo.commit("x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper\n\nThe kexec path needs it.\n"
                "So we add tdh_sys_shutdown() here." + SOB)
    repo.write(TDX_C, BAD_FN, append=True)
    repo.commit("x86/virt/tdx: Add tdx_quiesce()\n\nAdd tdx_quiesce() to stop the module." + SOB)
    text = repo.check().stdout.decode()
    (where,) = re.findall(r"^  (changelog:\d+): warning: \[changelog-voice\]", text, re.M)
    line = int(where.split(":")[1])
    (voice,) = [f for f in _json(repo.check("--format", "json"))["findings"] if f["rule"] == "changelog-voice"]
    assert voice["changelog_line"] == line and voice["line"] is None and not voice["on_subject"]
    assert voice["patch_subject"] == "[PATCH 1/2] x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper"
    lines = repo.check("--format", "checkpatch").stdout.decode().splitlines()
    assert f"[1/2 x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper] changelog:{line}: WARNING: " \
           "[changelog-voice]" in "\n".join(lines)
    sarif = _json(repo.check("--format", "sarif"))
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "changelog-voice"]
    assert result["properties"] == {"patch": "1/2", "subject": "x86/virt/tdx: Add a TDH.SYS.SHUTDOWN wrapper",
                                    "changelogLine": line}


def test_paths_limit_a_b4_prep_series(repo):
    repo.git("checkout", "-q", "master")
    subprocess.run([_b4(), "prep", "-n", "shutdown"], cwd=repo.path, env=repo.env, check=True,
                   capture_output=True)
    _three_commits(repo)
    report = _json(repo.check("--format", "json", "--", DOC))
    (series,) = report["series"]
    assert series["subject"].startswith("EDITME: cover title for shutdown"), "the cover letter stays"
    assert [(p["index"], p["subject"]) for p in series["patches"]] == [
        (2, "[PATCH 2/3] Documentation/x86: Describe the shutdown")], "numbered as it will be sent"
    assert "note: checked the b4 prep series on b4/shutdown -- " + DOC in repo.check("--", DOC).stdout.decode()
    _one_line_error(repo.check("--", "mm/"), "no patch of the b4 prep series changes mm/")
