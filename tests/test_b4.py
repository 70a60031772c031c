"""b4 itself runs tdxbot: am -k against the local public-inbox, prep --check
on a prep branch b4 made, and b4 review's check runner on our JSON."""
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import b4_command, git_tree

COVER = "20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com"


_b4 = b4_command


def _tdxbot_cmd() -> str:
    """How b4 would be configured to start tdxbot: the installed script when
    there is one, else this Python with the source tree."""
    script = Path(sys.executable).parent / "tdxbot"
    return str(script) if script.exists() else f"{sys.executable} -m tdxbot"


def _env(tmp_path) -> dict:
    env = dict(os.environ)
    for var in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["HOME"] = str(tmp_path)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _sections(output: str) -> dict[str, list[str]]:
    """b4's check output: finding lines ('  ● tool: ...') under each patch line."""
    sections, current = {}, None
    for line in _plain(output).splitlines():
        if line.startswith("    ●") or line.startswith("  ●"):
            if current is not None and ": " in line:
                sections[current].append(line.split("●", 1)[1].strip())
            continue
        stripped = line.strip()
        if stripped.startswith("[PATCH") or re.match(r"^[●]?\s*[0-9a-f]{12}: ", stripped) or \
                stripped.startswith("●"):
            current = stripped.lstrip("● ").strip()
            sections[current] = []
    return sections


def test_b4_am_check_shows_findings_under_the_right_patches(lore, tmp_path):
    b4 = _b4()
    out = tmp_path / "out"
    cmd = [b4, "-c", f"b4.midmask={lore.url}/%s", "-c", f"b4.linkmask={lore.url}/%s",
           "-c", "b4.attestation-policy=off",
           "-c", f"b4.am-perpatch-check-cmd={_tdxbot_cmd()} b4-check",
           "am", "-k", "-C", "-o", str(out), COVER]
    res = subprocess.run(cmd, capture_output=True, env=_env(tmp_path), cwd=tmp_path, timeout=300)
    text = _plain(res.stdout.decode() + res.stderr.decode())
    assert res.returncode == 0, text
    blocks = re.split(r"\n\s*(?=\[PATCH v2 \d/4\])", text)
    by_patch = {re.match(r"\[PATCH v2 (\d)/4\]", b).group(1): b for b in blocks if re.match(r"\[PATCH v2 \d/4\]", b)}
    assert set(by_patch) == {"1", "2", "3", "4"}, text
    assert "[tdx-status-unmasked]" in by_patch["2"] and "tdx.c:1961: ERROR" in by_patch["2"]
    assert "[tdx-errno-define]" in by_patch["1"] and "[tdx-status-unmasked]" not in by_patch["1"]
    assert "[subject-prefix]" in by_patch["3"]
    assert "[tdx-" not in by_patch["4"] and "passed all checks" in by_patch["4"]
    assert list(out.glob("*.mbx")), "b4 still writes the am-ready mbox"


def test_b4_am_check_through_the_resident_worker_prints_the_same(lore, tmp_path):
    """b4 starting tdxbot per patch with the worker running (bot/resident.py)
    shows what it shows with the worker off, and the worker served each patch."""
    from test_resident import Runtime

    b4 = _b4()
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    worker = Runtime(run)

    def am(env: dict, name: str) -> dict:
        cmd = [b4, "-c", f"b4.midmask={lore.url}/%s", "-c", f"b4.linkmask={lore.url}/%s",
               "-c", "b4.attestation-policy=off",
               "-c", f"b4.am-perpatch-check-cmd={_tdxbot_cmd()} b4-check",
               "am", "-k", "-C", "-o", str(tmp_path / name), COVER]
        res = subprocess.run(cmd, capture_output=True, env=env, cwd=tmp_path, timeout=300)
        text = res.stdout.decode() + res.stderr.decode()
        assert res.returncode == 0, text
        return _sections(text)

    with_worker = {**_env(tmp_path), **worker.env}
    try:
        subprocess.run([*_tdxbot_cmd().split(), "b4-check"], input=b"", env=with_worker, timeout=120,
                       capture_output=True)  # starts the worker
        worker.wait_listening()
        served = am(with_worker, "on")
        assert worker.served() == 4, worker.logs()
    finally:
        worker.stop()
    assert any("[tdx-status-unmasked]" in line for lines in served.values() for line in lines), served
    assert served == am(_env(tmp_path), "off")


def test_b4_prep_check_on_a_prep_branch(tmp_path):
    b4 = _b4()
    env = _env(tmp_path)
    repo = tmp_path / "linux"
    git = git_tree(repo, env, {"arch/x86/virt/vmx/tdx/tdx.c": "#include <asm/tdx.h>\n\nint tdx_placeholder;\n"})
    subprocess.run([b4, "prep", "-n", "tdx-quiesce"], cwd=repo, env=env, check=True, capture_output=True)
    with open(repo / "arch/x86/virt/vmx/tdx/tdx.c", "a") as fh:
        fh.write("\nvoid tdx_quiesce(void)\n{\n\tstruct tdx_module_args args = {};\n\tu64 ret;\n\n"
                 "\tdo {\n\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);\n"
                 "\t} while (ret == TDX_OPERAND_BUSY);\n\n\tif (ret)\n\t\tpr_err(\"failed\\n\");\n}\n")
    git("commit", "-qam", "x86/virt/tdx: Add tdx_quiesce()\n\nQuiesce the module before kexec.\n\n"
                          "Signed-off-by: Nadia Okafor <nadia@example.com>")
    with open(repo / "arch/x86/virt/vmx/tdx/tdx.c", "a") as fh:
        fh.write("\n/* Return the module's major version. */\nint tdx_major(void)\n{\n\treturn 1;\n}\n")
    git("commit", "-qam", "x86/virt/tdx: Add tdx_major()\n\nReport the major version.\n\n"
                          "Signed-off-by: Nadia Okafor <nadia@example.com>")
    res = subprocess.run([b4, "-c", f"b4.prep-perpatch-check-cmd={_tdxbot_cmd()} b4-check", "prep", "--check"],
                         cwd=repo, env=env, capture_output=True, timeout=300)
    text = _plain(res.stdout.decode() + res.stderr.decode())
    assert res.returncode == 0, text
    quiesce = text.split("Add tdx_quiesce()", 1)[1].split("Add tdx_major()", 1)[0]
    assert "arch/x86/virt/vmx/tdx/tdx.c:12: ERROR: [tdx-status-unmasked]" in quiesce, text
    assert "[tdx-busy-retry]" in quiesce
    major = text.split("Add tdx_major()", 1)[1]
    assert "[tdx-" not in major.split("Success:")[0]
    assert "[changelog-" not in quiesce, "'Quiesce the module' is imperative"
    assert re.search(r"Success: 1, Warning: \d+, Error: 1", text), text


def test_b4_review_check_runner_accepts_our_json(lore, tmp_path, monkeypatch):
    import argparse

    import b4
    import b4.review.checks as checks
    from conftest import FIXTURES

    from tdxbot.mail.sources import parse_message, split_mbox

    b4.setup_config(argparse.Namespace(config={"b4.attestation-policy": "off"}))
    raws = split_mbox((FIXTURES / "example-series.mbox").read_bytes())
    cover, patches = raws[0], raws[1:]
    msgs = []
    for raw in patches:
        from email import message_from_bytes, policy
        msg = message_from_bytes(raw, policy=policy.default)
        msgs.append((msg["Message-ID"].strip("<>"), msg))
    cmd = f"{_tdxbot_cmd()} b4-review-check"
    results = checks.run_perpatch_checks(msgs, [cmd], str(tmp_path))
    assert set(results) == {m for m, _ in msgs}
    statuses = {mid: [r["status"] for r in res] for mid, res in results.items()}
    for mid, res in results.items():
        assert len(res) == 1 and res[0]["tool"] == "tdxbot", res
        assert "invalid JSON" not in res[0]["summary"]
    assert statuses["20260914-tdx-shutdown-v2-2-5a1c0ffee@example.com"] == ["fail"]
    assert statuses["20260914-tdx-shutdown-v2-4-5a1c0ffee@example.com"] == ["pass"]
    from email import message_from_bytes, policy
    cover_msg = message_from_bytes(cover, policy=policy.default)
    series = checks.run_series_checks((COVER, cover_msg),
                                      [f"{cmd} --series --lore-url {lore.url}"], str(tmp_path))
    assert len(series) == 1 and series[0]["status"] == "fail", series
    assert series[0]["summary"].endswith("in 4 patches"), series
    assert "[2/4]" in series[0]["details"] and "tdx-status-unmasked" in series[0]["details"]
    parse_message(cover, "cover")  # the cover itself is a valid mail for tdxbot too
