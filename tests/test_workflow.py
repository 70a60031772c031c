"""What a kernel developer trips over in real workflows (issue 23), on real
components: folders `git format-patch` writes, with and without --thread,
and an mbox of same-title postings by different people."""
import json
import subprocess

from conftest import run_cli
from mails import mbox, patch_mail


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _series_repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "arch/x86/virt/vmx/tdx").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "Alice Example")
    _git(repo, "config", "user.email", "alice@example.org")
    for i in (1, 2, 3):
        with open(repo / "arch/x86/virt/vmx/tdx/tdx.c", "a") as fh:
            fh.write(f"int x{i};\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"x86/virt/tdx: Add x{i}", "-m", f"Add x{i} so that the module can use it.")
    return repo


def _review(path, *extra):
    res = run_cli("review", str(path), "--format", "json", *extra)
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def test_a_format_patch_folder_keeps_its_cover_letter_with_or_without_thread(tmp_path):
    repo = _series_repo(tmp_path)
    for threaded in (False, True):
        out = tmp_path / f"out-{threaded}"
        _git(repo, "format-patch", "-q", "--cover-letter", "--root", "-o", str(out),
             *(["--thread"] if threaded else []))
        report = _review(out)
        [series] = report["series"]
        assert [p["index"] for p in series["patches"]] == [1, 2, 3]
        assert series["missing"] == []
        # The cover letter is the series' and its placeholders are flagged.
        assert series["subject"] == "*** SUBJECT HERE ***", (threaded, series)
        placeholders = [f for f in report["findings"] if f["rule"] == "cover-placeholder"]
        assert placeholders and placeholders[0]["patch_index"] is None, (threaded, report["findings"])


def test_same_title_postings_by_two_people_are_two_series(tmp_path):
    alice = patch_mail("[PATCH] x86/tdx: Fix a typo", "a1@example.org", author="Alice <alice@example.org>",
                       code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;")
    bob = patch_mail("[PATCH] x86/tdx: Fix a typo", "b1@example.org", author="Bob <bob@example.org>",
                     code="\tif (err & TDX_SW_ERROR)\n\t\treturn;")
    resend = patch_mail("[PATCH] x86/tdx: Fix a typo", "a2@example.org", author="Alice <alice@example.org>",
                        code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;")
    box = tmp_path / "day.mbox"
    box.write_bytes(mbox(alice, bob, resend))
    report = _review(box)
    reviewed = sorted(p["message_id"] for s in report["series"] for p in s["patches"])
    assert reviewed == ["a2@example.org", "b1@example.org"]
    assert {f["message_id"] for f in report["findings"]} == {"a2@example.org", "b1@example.org"}
    text = run_cli("review", str(box)).stdout.decode()
    assert "<a1@example.org>, the same author" in text


def test_a_v2_taken_over_by_someone_else_is_the_same_series(tmp_path):
    v1 = patch_mail("[PATCH] x86/tdx: Fix a typo", "v1@example.org", author="Bob <bob@example.org>")
    v2 = patch_mail("[PATCH v2] x86/tdx: Fix a typo", "v2@example.org", author="Carol <carol@example.org>")
    box = tmp_path / "v.mbox"
    box.write_bytes(mbox(v1, v2))
    report = _review(box)
    assert [[p["message_id"] for p in s["patches"]] for s in report["series"]] == [["v2@example.org"]]
    assert "another version" in run_cli("review", str(box)).stdout.decode()


def test_an_in_body_from_names_the_author(tmp_path):
    """A patch Bob sends on Alice's behalf is Alice's posting."""
    body_from = patch_mail("[PATCH] x86/tdx: Fix a typo", "b@example.org", author="Bob <bob@example.org>",
                           changelog="From: Alice <alice@example.org>\n\nFix it.")
    alice = patch_mail("[PATCH] x86/tdx: Fix a typo", "a@example.org", author="Alice <alice@example.org>")
    box = tmp_path / "behalf.mbox"
    box.write_bytes(mbox(alice, body_from))
    report = _review(box)
    assert [[p["message_id"] for p in s["patches"]] for s in report["series"]] == [["b@example.org"]]


def test_mistyped_options_and_commands_get_a_did_you_mean(tmp_path):
    repo = _series_repo(tmp_path)
    cases = {
        ("reveiw", "x"): "unknown command 'reveiw' (did you mean review?)",
        ("check", "--fromat", "json", "HEAD^!"): "unknown option --fromat (did you mean --format?)",
        ("check", "--dif", "HEAD^!"): "unknown option --dif (did you mean --diff?)",
        ("check", "HEAD^!", "--", "arch/x86", "--format", "checkpatch"):
            "--format comes after '--', where git takes it for a path",
    }
    for argv, said in cases.items():
        res = run_cli(*argv, cwd=repo)
        err = res.stderr.decode()
        assert res.returncode == 2 and said in err and err.count("\n") == 1, (argv, err)
    # A rev-list option tdxbot does not know still goes to git.
    res = run_cli("check", "--no-merges", "--all", "HEAD^!", cwd=repo)
    assert res.returncode in (0, 1), res.stderr


def test_reverse_does_not_number_the_series_backwards(tmp_path):
    repo = _series_repo(tmp_path)
    plain = run_cli("check", "--all", "--format", "json", "HEAD~2..", cwd=repo)
    reverse = run_cli("check", "--all", "--reverse", "--format", "json", "HEAD~2..", cwd=repo)
    subjects = [[p["subject"] for p in json.loads(r.stdout)["series"][0]["patches"]] for r in (plain, reverse)]
    assert subjects[0] == subjects[1] == ["[PATCH 1/2] x86/virt/tdx: Add x2", "[PATCH 2/2] x86/virt/tdx: Add x3"]


def test_a_commit_too_large_to_read_fails_check_but_is_a_note_in_review(tmp_path):
    repo = _series_repo(tmp_path)
    with open(repo / "arch/x86/virt/vmx/tdx/tdx.c", "a") as fh:
        fh.write("int y = " + "1 + " * 6000 + "1;\n")  # one added line over limits.MAX_LINE
    _git(repo, "commit", "-q", "-am", "x86/virt/tdx: Add y", "-m", "Add y.")
    res = run_cli("check", "--format", "json", "HEAD^!", cwd=repo)
    findings = json.loads(res.stdout)["findings"]
    assert res.returncode == 1, res.stderr
    assert [(f["rule"], f["severity"]) for f in findings] == [("too-large-to-review", "warning")]
    _git(repo, "format-patch", "-q", "-1", "-o", str(tmp_path / "big"))
    res = run_cli("review", "--format", "json", str(tmp_path / "big"))
    assert res.returncode == 0, res.stderr
    assert [(f["rule"], f["severity"]) for f in json.loads(res.stdout)["findings"]] == \
        [("too-large-to-review", "info")]


def test_check_reports_each_finding_at_its_line_in_head(tmp_path):
    """Commit 1 adds two faulty lines; commit 2 inserts lines above them;
    commit 3 rewrites one. The report, JSON and SARIF alike, points at the
    other's line in HEAD's file, and names the rewritten one against its
    commit instead of giving a line number that is now wrong."""
    repo = tmp_path / "repo"
    path = "arch/x86/virt/vmx/tdx/tdx.c"
    (repo / "arch/x86/virt/vmx/tdx").mkdir(parents=True)
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "Alice Example")
    _git(repo, "config", "user.email", "alice@example.org")
    base = [f"int filler{i};" for i in range(20)]
    (repo / path).write_text("\n".join(base) + "\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "x86/virt/tdx: Start", "-m", "Start the file.")
    start = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    bad = ["static void first(u64 ret)", "{", "\tif (ret & TDX_SW_ERROR)", "\t\treturn;", "}",
           "static void second(u64 err)", "{", "\tif (err & TDX_SW_ERROR)", "\t\treturn;", "}"]
    lines = base[:10] + bad + base[10:]
    (repo / path).write_text("\n".join(lines) + "\n")
    _git(repo, "commit", "-q", "-am", "x86/virt/tdx: Add two checks", "-m", "Add the two checks.")
    lines = base[:5] + [f"int added{i};" for i in range(7)] + lines[5:]
    (repo / path).write_text("\n".join(lines) + "\n")
    _git(repo, "commit", "-q", "-am", "x86/virt/tdx: Add more", "-m", "Add seven more.")
    lines = [ln if ln != "\tif (err & TDX_SW_ERROR)" else "\tif ((err & TDX_SW_ERROR) == TDX_SW_ERROR)"
             for ln in lines]
    (repo / path).write_text("\n".join(lines) + "\n")
    _git(repo, "commit", "-q", "-am", "x86/virt/tdx: Fix the second check", "-m", "Fix it.")
    head = (repo / path).read_text().split("\n")

    res = run_cli("check", "--select", "tdx-sw-error-mask", "--format", "json", f"{start}..HEAD", cwd=repo)
    report = json.loads(res.stdout)
    on_code = [f for f in report["findings"] if f["path"]]
    assert [(f["path"], f["line"]) for f in on_code] == [(path, head.index("\tif (ret & TDX_SW_ERROR)") + 1)]
    moved = [f for f in report["findings"] if not f["path"]]
    assert len(moved) == 1 and moved[0]["patch_index"] == 1, report["findings"]
    text = run_cli("check", "--select", "tdx-sw-error-mask", f"{start}..HEAD", cwd=repo).stdout.decode()
    assert "a later commit rewrote that line" in text
    sarif = json.loads(run_cli("check", "--select", "tdx-sw-error-mask", "--format", "sarif",
                               f"{start}..HEAD", cwd=repo).stdout)
    # Both results point at a line commit 1 added, as HEAD has it: the first
    # at its own line, the rewritten one at the first line its patch added.
    regions = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in sarif["runs"][0]["results"]]
    assert sorted(regions) == [head.index("static void first(u64 ret)") + 1,
                               head.index("\tif (ret & TDX_SW_ERROR)") + 1], regions


def test_fix_names_the_commit_each_fix_belongs_in(tmp_path):
    """A fix of a line an earlier commit added goes into that commit: the
    advice names it for 'git commit --fixup', never '--amend' of the last."""
    repo = _series_repo(tmp_path)
    start = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    path = repo / "arch/x86/virt/vmx/tdx/tdx.c"
    with open(path, "a") as fh:
        fh.write("static void f(u64 ret)\n{\n\tif (ret & TDX_SW_ERROR)\n\t\treturn;\n}\n")
    _git(repo, "commit", "-q", "-am", "x86/virt/tdx: Add f", "-m", "Add f.")
    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    with open(path, "a") as fh:
        fh.write("int later;\n")
    _git(repo, "commit", "-q", "-am", "x86/virt/tdx: Add later", "-m", "Add later.")
    res = run_cli("check", "--fix", "--select", "tdx-sw-error-mask", f"{start}..HEAD", cwd=repo)
    err = res.stderr.decode()
    assert f"--fixup={first[:12]}" in err and "--amend" not in err, err
    assert "(ret & TDX_SW_ERROR) == TDX_SW_ERROR" in path.read_text()
