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
REMARK_RULES = {"changelog-typo", "changelog-says-what", "changelog-passive", "changelog-final-period",
                "changelog-imperative",
                "changelog-voice", "changelog-log-mismatch", "function-parens", "reported-by-link",
                "tag-order", "tag-chain", "cover-placeholder", "tdx-move-and-change"}


# Known gaps measured on fixtures/eval/real (see its README, "Judgement of the
# findings"): remarks labelled for an existing rule that the rule misses, and
# findings of rules a case lists in must_not. They are listed here, not hidden
# by relabelling, so that fixing a rule shows up as a change to this list and
# a new miss or false alarm fails the test.
KNOWN_REAL_MISSES = {
    # Dave asked for function() in the changelog; the functions it names are
    # assigned or called outside the diff, so function-parens does not know them.
    ("guest-safe-halt-typos", "function-parens"),
}
# Issue 24 cleared the four it had: changelog-passive on run-time behaviour
# ("... is converted in one go"), function-parens on the "tdx_pamt_get/put()"
# shorthand, version-notes-missing on notes in prose and tag-chain on a note
# above the author's only Signed-off-by.
KNOWN_REAL_FALSE_ALARMS: set[tuple[str, str]] = set()


def test_real_review_remarks_in_reach_of_the_remark_rules_are_all_caught():
    """fixtures/eval/real: remarks human reviewers made on real TDX patches,
    rebuilt as cases. Every one labelled for a changelog, tag or process
    rule is caught, and those rules raise no false alarm, except the known
    gaps listed above; over all rules at least 22 of the 23 remarks in reach
    are caught (measured: 22, the miss is the function-parens one above)."""
    res = run_cli("eval", FIXTURES / "eval" / "real", "--format", "json")
    result = json.loads(res.stdout)
    mine = {rule: counts for rule, counts in result["rules"].items() if rule in REMARK_RULES}
    assert sum(c["hits"] for c in mine.values()) >= 12
    misses = {(case["case"], miss["rule"]) for case in result["cases"] for miss in case["misses"]}
    false_alarms = {(case["case"], fa["rule"]) for case in result["cases"] for fa in case["false_alarms"]}
    assert misses == KNOWN_REAL_MISSES, misses
    assert false_alarms == KNOWN_REAL_FALSE_ALARMS, false_alarms
    totals = result["totals"]
    assert totals["cases"] >= 46
    assert totals["in_reach"] == 23 and totals["out_of_reach"] >= 80
    assert totals["hits"] >= 22
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
