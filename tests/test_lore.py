"""Fetching from lore, proven against a real public-inbox server on
127.0.0.1 (and, for failure paths a real server cannot produce, a hostile
one)."""
import gzip
import http.server
import json
import time

import pytest
from conftest import FIXTURES, loopback_http, run_cli

COVER = "20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com"
PATCH2 = "20260914-tdx-shutdown-v2-2-5a1c0ffee@example.com"


def _json(res):
    assert res.returncode in (0, 1), res.stderr.decode()
    return json.loads(res.stdout)


def _strip_raised(report):
    for f in report["findings"]:
        f.pop("already_raised", None)
    return report


def test_fetched_series_matches_local_mbox(lore):
    remote = _json(run_cli("review", COVER, "--lore-url", lore.url, "--format", "json"))
    local = _json(run_cli("review", FIXTURES / "example-series.mbox", "--format", "json"))
    # The served thread also holds a human reply, which only marks findings.
    assert _strip_raised(remote) == _strip_raised(local)
    assert len(remote["series"][0]["patches"]) == 4


def test_any_message_of_the_thread_finds_the_series(lore):
    report = _json(run_cli("review", f"<{PATCH2}>", "--lore-url", lore.url, "--format", "json"))
    assert report["series"][0]["message_id"] == COVER


def test_lore_url_needs_no_configuration(lore):
    report = _json(run_cli("review", f"{lore.url}/{COVER}/", "--format", "json"))
    assert report["series"][0]["subject"] == "x86/virt/tdx: Shut the TDX module down before kexec"


def test_git_config_lore_url(lore, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[tdxbot]\n\tlore-url = {lore.url}\n")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1"}
    report = _json(run_cli("review", COVER, "--format", "json", env=env, cwd=tmp_path))
    assert len(report["series"][0]["patches"]) == 4


def test_newest_version_of_the_thread(lore):
    report = _json(run_cli("review", "vv-v1-1@example.org", "--lore-url", lore.url, "--format", "json"))
    assert report["series"][0]["version"] == 2
    assert not [f for f in report["findings"] if f["rule"] == "tdx-status-unmasked"]
    old = _json(run_cli("review", "vv-v1-1@example.org", "--lore-url", lore.url, "--format", "json",
                        "--version", "1"))
    assert [f["rule"] for f in old["findings"] if f["rule"] == "tdx-status-unmasked"] == \
        ["tdx-status-unmasked", "tdx-status-unmasked"]


def test_human_point_is_not_repeated(lore, tmp_path):
    report = _json(run_cli("review", COVER, "--lore-url", lore.url, "--format", "json"))
    spacing = [f for f in report["findings"] if f["rule"] == "comment-list-spacing"]
    assert [(f["line"], f["already_raised"]) for f in spacing] == [(1954, True), (1956, False)]
    res = run_cli("review", COVER, "--lore-url", lore.url, "--drafts", tmp_path,
                  "--from", "Bot <bot@example.org>", "--select", "comment-list-spacing")
    (draft,) = tmp_path.iterdir()
    body = draft.read_text()
    assert "Retry on the two transient errors.\n\nNit" not in body
    assert "[comment-list-spacing]" in body  # the other spot is still commented on
    assert res.returncode == 1


def _error_line(res, needle):
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err, res.stdout[:200])
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_unknown_message_id(lore):
    _error_line(run_cli("review", "no-such-message@example.org", "--lore-url", lore.url), "not found")


def test_thread_without_patches(lore):
    _error_line(run_cli("review", "talk-0@example.org", "--lore-url", lore.url), "no patch")


def test_stopped_server(lore, tmp_path):
    from pi_server import Inbox

    second = Inbox(lore.root, lore.name)
    second.start()
    assert run_cli("review", COVER, "--lore-url", second.url, "--format", "json").returncode == 1
    second.stop()
    _error_line(run_cli("review", COVER, "--lore-url", second.url, "--timeout", "5"), "unreachable")


# A server that misbehaves in ways a real public-inbox does not: the same
# requests, hostile answers.

class _Hostile(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    body = b""

    def log_message(self, *args):
        pass

    def do_GET(self):
        mode = self.server.mode
        if mode == "error":
            self.send_error(503)
            return
        if mode == "slow":
            time.sleep(3)
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        if mode == "cut":
            self.send_header("Content-Length", str(len(self.server.body) * 2))
        self.end_headers()
        try:
            self.wfile.write(self.server.body)
        except OSError:
            pass

    def do_HEAD(self):
        self.send_error(404)


@pytest.fixture
def hostile():
    with loopback_http(_Hostile) as srv:
        yield srv


def _hostile_url(srv):
    return f"http://127.0.0.1:{srv.server_address[1]}/all"


def test_http_error(hostile):
    hostile.mode = "error"
    _error_line(run_cli("review", COVER, "--lore-url", _hostile_url(hostile)), "HTTP 503")


def test_timeout(hostile):
    hostile.mode, hostile.body = "slow", gzip.compress(b"")
    _error_line(run_cli("review", COVER, "--lore-url", _hostile_url(hostile), "--timeout", "1"),
                "timed out")


def test_corrupt_download(hostile):
    hostile.mode, hostile.body = "ok", b"\x1f\x8b\x08\x00" + b"garbage" * 100
    _error_line(run_cli("review", COVER, "--lore-url", _hostile_url(hostile)), "corrupt")


def test_connection_cut_mid_download(hostile):
    hostile.mode, hostile.body = "cut", gzip.compress((FIXTURES / "example-series.mbox").read_bytes())
    _error_line(run_cli("review", COVER, "--lore-url", _hostile_url(hostile), "--timeout", "5"),
                "download failed")


@pytest.fixture(scope="module")
def gzip_bomb():
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [comp.compress(block) for _ in range(300)]
    return b"".join(parts) + comp.flush()


def test_gzip_bomb_is_refused_without_exhausting_memory(hostile, gzip_bomb):
    hostile.mode, hostile.body = "ok", gzip_bomb
    assert len(gzip_bomb) < 1 << 20  # under a megabyte on the wire, 300 MiB inflated
    _error_line(run_cli("review", COVER, "--lore-url", _hostile_url(hostile)), "refusing it")
