"""Bad input never crashes tdxbot: each hostile mail gets a normal review or
one clear line on stderr with exit 2, in bounded time, writing nothing
outside the drafts folder."""
import os

import pytest
from conftest import run_cli
from hostile import corpus

CASES = corpus()
# Seconds each input may take (the per-input bound that rules out a hang).
BOUND = {"20MB-patch": 300}


def _files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


# The 20 MB patch takes about a minute: it runs with the slow tests.
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if len(CASES[n]) > 5 << 20
                                  else n for n in sorted(CASES)])
def test_hostile_mail(name, tmp_path):
    data = CASES[name]
    src = tmp_path / "input.eml"
    src.write_bytes(data)
    work = tmp_path / "work"
    work.mkdir()
    before = _files(tmp_path)
    res = run_cli("review", src, "--drafts", work / "drafts", "--from", "R <r@example.org>",
                  "--format", "json", cwd=work, timeout=BOUND.get(name, 30))
    err = res.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    if res.returncode == 2:
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("tdxbot: ")
    else:
        assert res.returncode in (0, 1), err
        assert res.stdout.startswith(b"{")
    after = _files(tmp_path)
    created = [f for f in after if f not in before]
    assert all(f.startswith(os.path.join("work", "drafts") + os.sep) for f in created), created
    if len(data) > 5 << 20:
        return  # the same review again through another parser: not worth minutes of CI
    b4 = run_cli("b4-check", stdin=data, cwd=work, timeout=BOUND.get(name, 30))
    b4err = b4.stderr.decode("utf-8", "replace")
    assert "Traceback" not in b4err and "internal error" not in b4err, b4err[-2000:]
    assert b4.returncode in (0, 2)


def test_hostile_mails_inside_a_big_mbox(tmp_path):
    """The whole corpus (but the 20 MB patch) amid a 70-patch series: big
    enough for the review to share the threads with a forked child. No
    traceback; the series gets the review its thread alone gets."""
    import json

    from mails import patch_mail, plain_mail

    from tdxbot.flow.pipeline import review_messages
    from tdxbot.lint.engine import Options
    from tdxbot.output.reports import to_json_obj
    from tdxbot.mail.sources import load_local

    series = [plain_mail("[PATCH 0/70] x86/virt/tdx: Many parts", "big-0@example.org", "Cover.",
                         author="Alice Example <alice@example.org>").encode()]
    series += [patch_mail(f"[PATCH {i}/70] x86/virt/tdx: Part {i}", f"big-{i}@example.org",
                          in_reply_to="big-0@example.org", code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;").encode()
               for i in range(1, 71)]
    hostile = [data for name, data in sorted(CASES.items()) if len(data) < 5 << 20]
    box = tmp_path / "mixed.mbox"
    box.write_bytes(b"".join(b"From nobody Mon Sep 14 09:00:00 2026\n" + m.replace(b"\r\n", b"\n") + b"\n"
                             for m in series[:30] + hostile + series[30:]))
    res = run_cli("review", box, "--format", "json", timeout=120)
    err = res.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert res.returncode in (0, 1), err
    # Each hostile mail is a thread of its own, reviewed (or left out with a
    # note) on its own; the series' review is the one its thread alone gets.
    thread = [m for m in load_local(str(box), alone=True)
              if (m.get("Message-ID") or "").startswith("<big-")]
    plain = to_json_obj(review_messages(thread, None, str(box), Options(), parallel_min=10**9))
    report = json.loads(res.stdout)
    assert report["series"][0] == plain["series"][0]
    ids = {p["message_id"] for p in plain["series"][0]["patches"]}
    assert [f for f in report["findings"] if f["message_id"] in ids] == plain["findings"]
    assert len(report["series"]) > 1  # hostile mails with a readable diff are series too
    assert len(plain["series"][0]["patches"]) == 70
