"""A lore server that works against its client (issue 12): `--timeout` is
a deadline for the whole transfer, however slowly the bytes come, and a
URL's user:password never shows in a message."""
from __future__ import annotations

import gzip
import http.server
import time

import pytest
from conftest import FIXTURES, loopback_http, run_cli

COVER = "20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com"


class _Drip(http.server.BaseHTTPRequestHandler):
    """Sends a valid gzip mbox one byte at a time, slowly."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = gzip.compress((FIXTURES / "example-series.mbox").read_bytes())
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(self.server.delay)
        except OSError:
            pass

    def do_HEAD(self):
        self.send_error(404)


@pytest.fixture
def drip():
    with loopback_http(_Drip) as srv:
        srv.delay = 0.2
        yield srv


def test_a_dripping_server_ends_at_the_deadline(drip):
    url = f"http://127.0.0.1:{drip.server_address[1]}/all"
    t0 = time.monotonic()
    res = run_cli("review", COVER, "--lore-url", url, "--timeout", "2", timeout=60)
    took = time.monotonic() - t0
    err = res.stderr.decode()
    assert res.returncode == 2 and "timed out after 2s" in err and len(err.strip().splitlines()) == 1, err
    assert took < 2 + 3, f"the transfer went on for {took:.1f} s past a 2 s deadline"


def test_credentials_in_a_url_are_never_printed(drip, tmp_path):
    port = drip.server_address[1]
    res = run_cli("review", COVER, "--lore-url", f"http://alice:hunter2@127.0.0.1:{port}/all", "--timeout", "1")
    assert res.returncode == 2 and b"hunter2" not in res.stderr and b"alice" not in res.stderr, res.stderr
    refused = run_cli("review", COVER, "--lore-url", "http://alice:hunter2@127.0.0.1:9/all", "--timeout", "2")
    assert refused.returncode == 2 and b"hunter2" not in refused.stderr and b"127.0.0.1:9" in refused.stderr
    mirror = run_cli("watch", "--inbox", "http://alice:hunter2@127.0.0.1:9/tdx", "--once", "--drafts",
                     tmp_path / "d", "--from", "Bot <bot@example.org>", "--state", tmp_path / "s.sqlite3",
                     env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert mirror.returncode == 2 and b"cannot mirror" in mirror.stderr, mirror.stderr
    assert b"hunter2" not in mirror.stderr and b"alice" not in mirror.stderr


def test_mirror_folder_name_has_no_credentials(tmp_path):
    from tdxbot.common.errors import UserError
    from tdxbot.watch.inbox import mirror

    with pytest.raises(UserError) as exc:
        mirror("http://alice:hunter2@127.0.0.1:9/tdx", str(tmp_path))
    assert "hunter2" not in str(exc.value)
    assert [p.name for p in tmp_path.iterdir()] == ["127.0.0.1_9_tdx"]
