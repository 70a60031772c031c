"""Bad input: one clear line on stderr, exit 2, never a traceback."""
import pytest
from conftest import run_cli
from mails import patch_mail

BROKEN_DIFF = patch_mail("[PATCH] x86/virt/tdx: Broken", "broken@example.org", diff="\n".join([
    "diff --git a/x.c b/x.c", "--- a/x.c", "+++ b/x.c", "@@ -1,2 +1,9 @@", " a", "+b"]))
NO_PATCH = "From: A <a@example.org>\nSubject: Hello\nMessage-ID: <n@example.org>\n\nJust words.\n"
HTML_ONLY = ("From: A <a@example.org>\nSubject: [PATCH] x\nMessage-ID: <h@example.org>\n"
             "Content-Type: text/html\n\n<p>hi</p>\n")


def _assert_one_line_error(res, needle):
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("tdxbot: ")
    assert needle.lower() in err.lower(), err


@pytest.mark.parametrize("content,needle", [
    (b"", "empty"),
    (b"\n\n  \n", "empty"),
    (b"this is not a mail at all\njust some text\n", "not a mail"),
    (NO_PATCH.encode(), "no patch"),
    (BROKEN_DIFF.encode(), "broken diff"),
    (HTML_ONLY.encode(), "text/html"),
    (b"\x00\x01\x02\xff\xfe", "not a mail"),
])
def test_bad_files(tmp_path, content, needle):
    f = tmp_path / "input.eml"
    f.write_bytes(content)
    _assert_one_line_error(run_cli("review", f), needle)
    _assert_one_line_error(run_cli("review", "-", stdin=content), needle)


def test_missing_path(tmp_path):
    _assert_one_line_error(run_cli("review", tmp_path / "nope.mbox"), "no such file")


def test_directory_that_is_not_a_maildir(tmp_path):
    _assert_one_line_error(run_cli("review", tmp_path), "not a maildir")


def test_malformed_msgid_makes_no_request():
    _assert_one_line_error(run_cli("review", "<foo@bar;touch x>", "--lore-url", "http://127.0.0.1:9/all"),
                           "malformed Message-ID")


def test_unreachable_server():
    # Port 9 (discard) is closed on loopback: the connection is refused at once.
    _assert_one_line_error(run_cli("review", "nothing@example.org", "--lore-url", "http://127.0.0.1:9/all",
                                   "--timeout", "5"), "unreachable")


def test_unknown_rule_id():
    _assert_one_line_error(run_cli("review", "-", "--ignore", "no-such-rule", stdin=b""), "unknown rule")


def test_bad_usage_exits_2():
    res = run_cli("review")
    assert res.returncode == 2 and b"Traceback" not in res.stderr
    res = run_cli("frobnicate")
    assert res.returncode == 2


def test_drafts_need_a_sender(tmp_path):
    mail = patch_mail("[PATCH] x86/virt/tdx: S", "s@example.org", code="/*\n * Lead.\n *  - item\n */")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": str(home)}
    res = run_cli("review", "-", "--drafts", tmp_path / "d", stdin=mail.encode(), env=env, cwd=tmp_path)
    _assert_one_line_error(res, "no sender")
