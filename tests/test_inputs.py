"""Sources: mbox, single message, maildir, stdin; series assembly through
b4; versions, partial series and replies; bad input."""
import json

import pytest
from conftest import FIXTURES, run_cli
from mails import mbox, patch_mail, plain_mail

from tdxbot.common.errors import UserError
from tdxbot.mail.assembly import assemble
from tdxbot.mail.sources import load_local, parse_msgid_arg, split_mbox


def _thread(version: int, n: int, stem: str, code: str = "int x;"):
    v = f" v{version}" if version > 1 else ""
    cover_id = f"{stem}-v{version}-0@example.org"
    mails = [plain_mail(f"[PATCH{v} 0/{n}] x86/virt/tdx: Add the thing", cover_id,
                        "Cover letter text.", author="Alice Example <alice@example.org>")]
    for i in range(1, n + 1):
        mails.append(patch_mail(f"[PATCH{v} {i}/{n}] x86/virt/tdx: Part {i}", f"{stem}-v{version}-{i}@example.org",
                                in_reply_to=cover_id, code=code))
    return mails


def _json(res):
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def test_newest_complete_version_is_reviewed(tmp_path):
    box = tmp_path / "thread.mbox"
    box.write_bytes(mbox(*_thread(1, 2, "t"), *_thread(2, 2, "t")))
    report = _json(run_cli("review", box, "--format", "json"))
    assert report["series"][0]["version"] == 2
    assert [p["message_id"] for p in report["series"][0]["patches"]] == ["t-v2-1@example.org", "t-v2-2@example.org"]
    report = _json(run_cli("review", box, "--format", "json", "--version", "1"))
    assert report["series"][0]["version"] == 1


def test_incomplete_newer_version_loses_to_complete_older(tmp_path):
    v2 = _thread(2, 3, "t")
    del v2[2]  # 2/3 never arrived
    box = tmp_path / "thread.mbox"
    box.write_bytes(mbox(*_thread(1, 2, "t"), *v2))
    assert _json(run_cli("review", box, "--format", "json"))["series"][0]["version"] == 1
    report = _json(run_cli("review", box, "--format", "json", "--version", "2"))
    assert report["series"][0]["missing"] == [2]
    text = run_cli("review", box, "--version", "2").stdout.decode()
    assert "missing patches: 2/3" in text


def test_partial_series_is_reviewed_as_far_as_it_goes(tmp_path):
    mails = _thread(1, 5, "p")
    box = tmp_path / "partial.mbox"
    box.write_bytes(mbox(mails[0], mails[1], mails[2], mails[3]))
    report = _json(run_cli("review", box, "--format", "json"))
    assert [p["index"] for p in report["series"][0]["patches"]] == [1, 2, 3]
    assert report["series"][0]["missing"] == [4, 5]


def test_replies_are_context_not_patches(tmp_path):
    mails = _thread(1, 2, "r")
    quoted = "\n".join("> " + ln for ln in mails[1].split("\n\n", 1)[1].split("\n"))
    reply = plain_mail("Re: [PATCH 1/2] x86/virt/tdx: Part 1", "reply-1@example.org",
                       "On Monday Alice wrote:\n" + quoted + "\n\nLooks fine.", in_reply_to="r-v1-1@example.org")
    box = tmp_path / "t.mbox"
    box.write_bytes(mbox(*mails, reply))
    report = _json(run_cli("review", box, "--format", "json"))
    assert [p["message_id"] for p in report["series"][0]["patches"]] == ["r-v1-1@example.org", "r-v1-2@example.org"]


def test_single_eml_stdin_and_maildir(tmp_path):
    mail = patch_mail("[PATCH] x86/virt/tdx: One patch", "one@example.org")
    eml = tmp_path / "one.eml"
    eml.write_text(mail)
    a = _json(run_cli("review", eml, "--format", "json"))
    b = _json(run_cli("review", "-", "--format", "json", stdin=mail.encode()))
    md = tmp_path / "md"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "1700000000.1.host").write_text(mail)
    c = _json(run_cli("review", md, "--format", "json"))
    assert a["series"] == b["series"] == c["series"]
    assert a["series"][0]["patches"][0]["message_id"] == "one@example.org"


def test_several_patch_files_pool_into_one_series(tmp_path):
    mails = _thread(1, 2, "f")
    for i, m in enumerate(mails):
        (tmp_path / f"{i:04d}.patch").write_text(m)
    report = _json(run_cli("review", *sorted(tmp_path.iterdir()), "--format", "json"))
    assert [p["index"] for p in report["series"][0]["patches"]] == [1, 2]
    # b4 assembled them: the cover letter is the cover, not a stray reply.
    assert report["series"][0]["message_id"] == "f-v1-0@example.org"
    assert report["series"][0]["subject"] == "x86/virt/tdx: Add the thing"


def test_crlf_and_quoted_printable_bodies_parse():
    mail = patch_mail("[PATCH] x86/virt/tdx: QP", "qp@example.org", code="int caf\u00e9;")
    head, body = mail.split("\n\n", 1)
    import quopri
    qp = quopri.encodestring(body.encode("utf-8")).decode()
    raw = (head + "\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: quoted-printable\n\n" + qp).replace("\n", "\r\n")
    series = assemble(split_and_parse(raw.encode()), None, "qp")
    added = series.patches[0].files[0].added_lines()
    assert [ln.text for ln in added] == ["int caf\u00e9;"]
    assert added[0].new_no == 11


def split_and_parse(data: bytes):
    from tdxbot.mail.sources import parse_message
    return [parse_message(raw, "t") for raw in split_mbox(data)]


def test_example_series_loads_with_cover():
    msgs = load_local(str(FIXTURES / "example-series.mbox"))
    series = assemble(msgs, None, "example")
    assert series.cover is not None and series.total == 4 and len(series.patches) == 4
    assert series.version == 2 and not series.missing


@pytest.mark.parametrize("arg,msgid,base", [
    ("<abc@example.org>", "abc@example.org", None),
    ("abc@example.org", "abc@example.org", None),
    ("https://lore.kernel.org/all/abc@example.org/", "abc@example.org", "https://lore.kernel.org/all"),
    ("http://127.0.0.1:8080/tdx/abc%40example.org/T/#t", "abc@example.org", "http://127.0.0.1:8080/tdx"),
])
def test_msgid_arguments(arg, msgid, base):
    assert parse_msgid_arg(arg) == (msgid, base)


@pytest.mark.parametrize("arg", ["a b@c", "<x@y;rm -rf>", "x@y/../z", "id:"])
def test_malformed_msgid_rejected(arg):
    with pytest.raises(UserError):
        parse_msgid_arg(arg)
