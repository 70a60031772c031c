"""tdxbot eval on the project's own labelled cases, and on cases built to
fail, so that the scoring itself is tested."""
import json
import shutil

from conftest import FIXTURES, run_cli


def test_shipped_cases_all_hit_with_no_false_alarms():
    res = run_cli("eval", FIXTURES / "eval", "--format", "json")
    assert res.returncode == 0, res.stdout.decode()
    result = json.loads(res.stdout)
    totals = result["totals"]
    assert totals["cases"] >= 10 and totals["recall"] == 1.0 and totals["false_alarms"] == 0
    assert totals["hits"] >= 15
    assert {"tdx-unbounded-retry", "tdx-busy-retry", "tdx-stub-missing", "tag-chain"} <= set(result["rules"])


def test_misses_and_false_alarms_are_counted(tmp_path):
    shutil.copy(FIXTURES / "eval" / "kvm-busy-loop.eml", tmp_path / "case.eml")
    (tmp_path / "case.json").write_text(json.dumps({
        "must": [{"rule": "tdx-busy-retry", "path": "arch/x86/kvm/vmx/tdx.c", "line": 109},
                 {"rule": "tdx-status-unmasked", "path": "arch/x86/kvm/vmx/tdx.c", "line": 107},
                 {"rule": "tdx-busy-retry", "path": "arch/x86/kvm/vmx/tdx.c", "line": 120}],
        "must_not": ["tdx-unbounded-retry"]}))
    res = run_cli("eval", tmp_path, "--format", "json")
    assert res.returncode == 1
    totals = json.loads(res.stdout)["totals"]
    # line 109 is within 2 of the finding at 107; 120 is not; unmasked never fires here
    assert (totals["hits"], totals["misses"], totals["false_alarms"]) == (1, 2, 1)
    assert totals["false_alarms_per_kloc"] > 0
    text = run_cli("eval", tmp_path).stdout.decode()
    assert "miss: case: [tdx-status-unmasked]" in text and "false alarm: case: [tdx-unbounded-retry]" in text


def test_bad_eval_folders(tmp_path):
    res = run_cli("eval", tmp_path / "nope")
    assert res.returncode == 2 and b"not a directory" in res.stderr
    (tmp_path / "lonely.eml").write_text("Subject: x\n\nbody\n")
    res = run_cli("eval", tmp_path)
    assert res.returncode == 2 and b"no expectations file" in res.stderr


# The rules of issue 16 (changelog, tag and process remarks from real reviews).
REMARK_RULES = {"changelog-typo", "changelog-says-what", "changelog-passive", "changelog-imperative",
                "changelog-voice", "changelog-log-mismatch", "function-parens", "reported-by-link",
                "tag-order", "tag-chain", "cover-placeholder", "tdx-move-and-change"}


def test_real_review_remarks_in_reach_of_the_remark_rules_are_all_caught():
    """fixtures/eval/real: remarks human reviewers made on real TDX patches,
    rebuilt as cases. Every one labelled for a changelog, tag or process
    rule is caught, with no false alarm from those rules; over all rules at
    least 16 of the 17 remarks in reach are (measured: 16, the miss is a
    noinstr path through a helper inlined elsewhere)."""
    res = run_cli("eval", FIXTURES / "eval" / "real", "--format", "json")
    result = json.loads(res.stdout)
    mine = {rule: counts for rule, counts in result["rules"].items() if rule in REMARK_RULES}
    assert sum(c["hits"] for c in mine.values()) >= 7
    assert all(c["misses"] == 0 and c["false_alarms"] == 0 for c in mine.values()), mine
    totals = result["totals"]
    assert totals["in_reach"] == 17 and totals["out_of_reach"] >= 25
    assert totals["hits"] >= 16
    text = run_cli("eval", FIXTURES / "eval" / "real").stdout.decode()
    assert f"{totals['in_reach']} labelled in reach" in text and "out of reach" in text


def test_out_of_reach_remarks_are_counted_not_scored(tmp_path):
    shutil.copy(FIXTURES / "eval" / "kvm-busy-loop.eml", tmp_path / "case.eml")
    (tmp_path / "case.json").write_text(json.dumps({
        "must": [{"rule": "tdx-busy-retry", "path": "arch/x86/kvm/vmx/tdx.c", "line": 109,
                  "remark": "Do not retry on busy."}],
        "out_of_reach": [{"remark": "Is the lock per VM?", "why": "needs the design"},
                         {"remark": "Document the uAPI.", "why": "judgement"}],
        "must_not": []}))
    totals = json.loads(run_cli("eval", tmp_path, "--format", "json").stdout)["totals"]
    assert (totals["in_reach"], totals["out_of_reach"], totals["hits"]) == (1, 2, 1)
    assert totals["recall"] == 1.0
    (tmp_path / "case.json").write_text(json.dumps({"must": [], "out_of_reach": "none"}))
    res = run_cli("eval", tmp_path)
    assert res.returncode == 2 and b"expected" in res.stderr
