"""A lore server that attacks its client (issue 22): `--timeout` is one
deadline over connect, headers, redirects and body; a download holds at
most MAX_THREAD_MESSAGES mails and is split as it is decompressed; a
redirect may not leave the server unless the user allows it; a TLS
certificate that fails verification says so. Every failure is one line on
stderr and exit status 2, within the budget in time and memory.

Real components only: tdxbot runs as its own process against servers on
127.0.0.1 (and, for the successful paths, the real public-inbox)."""
from __future__ import annotations

import gzip
import http.server
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, loopback_http
from hypothesis import given, settings
from hypothesis import strategies as st

from tdxbot.common import UserError
from tdxbot.mail import lore as lore_mod
from tdxbot.mail.sources import (MAX_MAIL_ENCODED_WORDS, MAX_THREAD_HEADER_LINES, MAX_THREAD_MESSAGES,
                                 MboxSplitter, fetch_thread, split_mbox)

COVER = "20260914-tdx-shutdown-v2-0-5a1c0ffee@example.com"
SLACK = 1.0  # seconds past the budget and the start-up, for a busy machine
MEMORY_MB = 200  # peak RSS of a refused download (tdxbot starts at ~25 MB; the old reader took 3.3 GB)
TALK = (b"From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: Ann <ann@example.org>\nSubject: hello\n"
        b"Message-ID: <talk-0@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nNo patch here.\n")


# tdxbot runs under this small wrapper, which reports the peak RSS of its
# child alone. (A child forked straight from pytest starts with pytest's
# peak: Linux carries the parent's high-water mark over fork and exec.)
_WRAPPER = ("import resource, subprocess, sys\n"
            "rc = subprocess.call(sys.argv[2:])\n"
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            "sys.exit(rc if rc >= 0 else 128 - rc)\n")


def run_measured(*args, env=None, kill_after: float = 120) -> tuple[int, str, float, float]:
    """Run tdxbot as its own process: (exit status, stderr, wall seconds,
    peak RSS in MB of that process alone)."""
    import signal
    import tempfile

    full_env = dict(os.environ)
    full_env.pop("TDXBOT_DEBUG", None)
    full_env.update(env or {})
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, rss.name, sys.executable, "-m", "tdxbot",
                                 *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, cwd=ROOT, env=full_env, start_new_session=True)
        killer = threading.Timer(kill_after, lambda: os.killpg(proc.pid, signal.SIGKILL))
        killer.start()
        try:
            _, stderr = proc.communicate()
        finally:
            killer.cancel()
        took = time.monotonic() - t0
        peak = int(rss.read() or 0) / 1024
    return proc.returncode, stderr.decode(errors="replace"), took, peak


@pytest.fixture(scope="module")
def startup() -> float:
    """Seconds tdxbot takes to start, reach the network and fail at once (a
    refused connection): the part of a run the deadline does not cover."""
    runs = [run_measured("review", COVER, "--lore-url", "http://127.0.0.1:9/all")[2] for _ in range(2)]
    return min(runs)


def assert_within(took: float, budget: float, startup: float) -> None:
    assert took < budget + startup + SLACK, \
        f"{took:.1f} s for a {budget:g} s budget (start-up {startup:.1f} s)"


def assert_one_line(rc: int, err: str, needle: str) -> None:
    assert rc == 2, (rc, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def review(url: str, *extra, env=None, kill_after: float = 120):
    return run_measured("review", COVER, "--lore-url", url, *extra, env=env, kill_after=kill_after)


def allow_redirects_env() -> dict:
    """git config tdxbot.follow-redirects=true, for this process only."""
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "tdxbot.follow-redirects",
            "GIT_CONFIG_VALUE_0": "true"}


class _Base(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.send_error(404)

    def raw(self, data: bytes, delay: float = 0.0) -> None:
        """Send data as it is, a byte at a time when delay is set."""
        try:
            if not delay:
                self.wfile.write(data)
                return
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(delay)
        except OSError:
            pass

    def mbox(self, body: bytes, encoding: str | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.raw(body)


def _url(srv, path: str = "/all") -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


# 1. One deadline for the whole transfer.

class _HeaderDrip(_Base):
    """A status line and an endless header, a byte every 50 ms."""

    def do_GET(self):
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nX-Drip: " + b"a" * 10000, 0.05)


class _ContinueDrip(_Base):
    """Endless '100 Continue' answers, which http.client skips one by one."""

    def do_GET(self):
        self.raw(b"HTTP/1.1 100 Continue\r\n\r\n" * 2000, 0.002)


class _SlowRedirects(_Base):
    """29 redirects on the same server, each after a pause, then the thread."""

    def do_GET(self):
        self.server.hits += 1
        m = re.search(r"/hop(\d+)/", self.path)
        hop = int(m.group(1)) if m else 0
        if hop < 29:
            time.sleep(self.server.pause)
            self.send_response(302)
            self.send_header("Location", f"/hop{hop + 1}/{COVER}/t.mbox.gz")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.mbox(gzip.compress(TALK))


@pytest.fixture
def server():
    """A hostile server whose handler the test sets (server.handler)."""
    class Dispatch(_Base):
        def do_GET(self):
            self.server.handler.do_GET(self)

        def do_HEAD(self):
            self.server.handler.do_HEAD(self)

    with loopback_http(Dispatch) as srv:
        srv.hits, srv.pause = 0, 0.0
        yield srv


def test_headers_a_byte_at_a_time_end_at_the_deadline(server, startup):
    server.handler = _HeaderDrip
    rc, err, took, _ = review(_url(server), "--timeout", "2", kill_after=60)
    assert_one_line(rc, err, "timed out after 2s (reading the response headers)")
    assert_within(took, 2, startup)


def test_the_deadline_is_kept_to_a_fraction_of_a_second():
    """In the process itself, without the start-up: the fetch ends when
    the time is up, not a read's timeout later."""
    for handler in (_HeaderDrip, _ContinueDrip):
        with loopback_http(handler) as srv:
            t0 = time.monotonic()
            with pytest.raises(UserError, match="timed out after 1s"):
                fetch_thread(COVER, _url(srv), 1)
            assert time.monotonic() - t0 < 1.25


def test_endless_continue_answers_end_at_the_deadline(server, startup):
    server.handler = _ContinueDrip
    rc, err, took, _ = review(_url(server), "--timeout", "1.5", kill_after=60)
    assert_one_line(rc, err, "timed out after 1.5s")
    assert_within(took, 1.5, startup)


def test_slow_redirects_share_one_deadline(server, startup):
    server.handler, server.pause = _SlowRedirects, 0.8
    rc, err, took, _ = review(_url(server), "--timeout", "2", kill_after=60)
    assert_one_line(rc, err, "timed out after 2s")
    assert_within(took, 2, startup)
    assert server.hits <= 3


def test_a_redirect_chain_is_cut_short(server):
    server.handler = _SlowRedirects  # no pause: 29 quick hops
    rc, err, took, _ = review(_url(server), "--timeout", "10")
    assert_one_line(rc, err, f"more than {lore_mod.MAX_REDIRECTS} redirects")
    assert server.hits == lore_mod.MAX_REDIRECTS + 1


def test_a_server_that_never_answers_ends_at_the_deadline(server, startup):
    class Silent(_Base):
        def do_GET(self):
            time.sleep(30)

    server.handler = Silent
    rc, err, took, _ = review(_url(server), "--timeout", "1", kill_after=60)
    assert_one_line(rc, err, "timed out after 1s")
    assert_within(took, 1, startup)


def test_a_body_dripped_slowly_ends_at_the_deadline(server, startup):
    class BodyDrip(_Base):
        def do_GET(self):
            body = gzip.compress((FIXTURES / "example-series.mbox").read_bytes())
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(len(body)):  # one chunk per byte, chunk framing and all
                self.raw(b"1\r\n" + body[i:i + 1] + b"\r\n", 0.01)

    server.handler = BodyDrip
    rc, err, took, _ = review(_url(server), "--timeout", "1.5", kill_after=60)
    assert_one_line(rc, err, "timed out after 1.5s (downloading)")
    assert_within(took, 1.5, startup)


# 2. A thread holds at most MAX_THREAD_MESSAGES mails, split as they come.

TINY = b"From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\nSubject: hi\n\n"


@pytest.fixture(scope="module")
def tiny_mail_bomb() -> bytes:
    """850,000 tiny mails (~45 MiB) as gzip in gzip: a few KB."""
    block = TINY * 10000
    inner = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + TALK.split(b"\n", 1)[1]
    out = [outer.compress(inner.compress(head))]
    for _ in range(85):
        out.append(outer.compress(inner.compress(block)))
    out.append(outer.compress(inner.flush()))
    out.append(outer.flush())
    return b"".join(out)


def test_a_thread_of_a_million_tiny_mails_is_refused_quickly(server, tiny_mail_bomb, startup):
    class Bomb(_Base):
        def do_GET(self):
            self.mbox(self.server.body, "gzip")

    assert len(tiny_mail_bomb) < 200 << 10
    server.handler, server.body = Bomb, tiny_mail_bomb
    rc, err, took, peak = review(_url(server), "--timeout", "20")
    assert_one_line(rc, err, f"more than {MAX_THREAD_MESSAGES} messages in one thread")
    assert_within(took, 1, startup)  # under a second of work
    assert peak < MEMORY_MB, f"peak RSS {peak:.0f} MB"


def _serve_mbox(mbox: bytes):
    class Serve(_Base):
        def do_GET(self):
            self.mbox(gzip.compress(mbox, 1))

    return loopback_http(Serve)


def _mails(count: int, headers: bytes = b"", body: bytes = b"hi\n") -> bytes:
    return b"".join(b"From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b\nSubject: x\nMessage-ID: <%d@b>\n%s\n%s"
                    % (i, headers, body) for i in range(count))


@pytest.mark.parametrize("mbox, needle", [
    (_mails(100, b"X-A: b\n" * 2600), f"more than {MAX_THREAD_HEADER_LINES:,} header lines"),
    (_mails(1, b"Subject: " + b"=?utf-8?q?a?= " * (MAX_MAIL_ENCODED_WORDS + 1) + b"\n"),
     f"more than {MAX_MAIL_ENCODED_WORDS:,} encoded words"),
    (_mails(60, b"Cc: " + b"=?utf-8?q?a?= " * 1800 + b"\n"), "encoded words in the headers of one thread"),
])
def test_headers_that_would_cost_the_parser_too_much_are_refused(mbox, needle):
    with _serve_mbox(mbox) as srv:
        t0 = time.monotonic()
        with pytest.raises(UserError, match=needle):
            fetch_thread(COVER, _url(srv), 10)
        assert time.monotonic() - t0 < 2


def test_millions_of_empty_gzip_members_are_refused(server):
    class Members(_Base):
        def do_GET(self):
            empty = gzip.compress(b"", mtime=0)
            self.mbox(gzip.compress(TALK) + empty * (lore_mod.MAX_GZIP_MEMBERS + 10))

    server.handler = Members
    with pytest.raises(UserError, match="gzip members"):
        fetch_thread(COVER, _url(server), 10)


def test_a_thread_at_the_caps_is_read():
    with _serve_mbox(_mails(MAX_THREAD_MESSAGES, b"Cc: =?utf-8?q?Ren=C3=A9?= <r@b>\n")) as srv:
        assert len(fetch_thread(COVER, _url(srv), 20)) == MAX_THREAD_MESSAGES


def test_the_message_cap_is_stated_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    assert f"{MAX_THREAD_MESSAGES:,}" in readme or str(MAX_THREAD_MESSAGES) in readme


def test_the_splitter_stops_at_the_cap_as_the_pieces_come():
    splitter = MboxSplitter(limit=3, where="x")
    with pytest.raises(UserError, match="more than 3 messages"):
        for _ in range(10):
            splitter.feed(TINY)
    # The error came with the fifth separator (which ends the fourth mail),
    # not at the end of the input.
    assert len(splitter.messages) == 4


def _reference_split(data: bytes) -> list[bytes]:
    """split_mbox as it was before it streamed (the oracle)."""
    from_line = re.compile(rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?:Jan|Feb|Mar|Apr|May|Jun|"
                           rb"Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d\d(?::\d\d)?\b.*$", re.M)
    header = re.compile(rb"[!-9;-~]+:")
    starts = [m.start() for m in from_line.finditer(data)
              if m.start() == 0 or (data[m.start() - 1:m.start()] == b"\n"
                                    and header.match(data, m.end() + 1))]
    if not starts or starts[0] != 0:
        return [data]
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        nl = chunk.find(b"\n")
        chunk = chunk[nl + 1:] if nl >= 0 else b""
        chunk = re.sub(rb"(?m)^>(>*From )", rb"\1", chunk)
        if chunk.strip():
            out.append(chunk)
    return out


_LINES = st.sampled_from([b"From a@b Mon Jan  1 00:00:00 2024", b"From x Tue Feb 2 1:02", b"From nobody",
                          b">From a@b Mon Jan 1 00:00", b">>From q", b"Subject: hi", b"X:", b"not: a header",
                          b"", b"body text", b"From a@b Mon Jan 1 00:00\r", b"Message-ID: <a@b>\r"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINES, max_size=30), st.booleans(), st.randoms(use_true_random=False))
def test_streamed_split_is_the_split_however_the_bytes_are_cut(lines, last_newline, rnd):
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    expected = _reference_split(data)
    assert split_mbox(data) == expected
    splitter = MboxSplitter()
    i = 0
    while i < len(data):
        n = rnd.choice([1, 2, 3, 5, 8, 40])
        splitter.feed(data[i:i + n])
        i += n
    assert splitter.close() == expected


def test_the_example_series_splits_the_same_in_pieces():
    data = (FIXTURES / "example-series.mbox").read_bytes()
    rnd = random.Random(22)
    for _ in range(20):
        splitter, i = MboxSplitter(), 0
        while i < len(data):
            n = rnd.randint(1, 4096)
            splitter.feed(data[i:i + n])
            i += n
        assert splitter.close() == _reference_split(data)


def test_a_long_separator_then_a_slow_endless_line_is_linear():
    """A separator line, then a line that never ends, fed in small pieces:
    the separator is matched once, not again for every piece."""
    splitter = MboxSplitter()
    splitter.feed(b"From a@b Mon Jan  1 00:00:00 2024\nX: y\n\n")
    splitter.feed(b"From b@c Mon Jan  1 00:00:00 2024 " + b"z" * (4 << 20) + b"\n")
    t0 = time.monotonic()
    for _ in range(2000):
        splitter.feed(b"q" * 4096)  # 8 MiB with no newline
    assert time.monotonic() - t0 < 2.0
    assert len(splitter.close()) == 1  # the second "separator" has no header after it


# 3. A redirect may not leave the server.

class _Thread(_Base):
    """Serves the talk thread to whoever asks; counts the requests."""

    def do_GET(self):
        self.server.hits += 1
        self.mbox(gzip.compress(TALK))


@pytest.fixture
def elsewhere():
    with loopback_http(_Thread) as srv:
        srv.hits = 0
        yield srv


def _redirect_to(target: str):
    class Redirect(_Base):
        def do_GET(self):
            self.server.hits += 1
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Redirect


def test_a_redirect_to_another_port_is_refused(server, elsewhere):
    server.handler = _redirect_to(f"{_url(elsewhere)}/{COVER}/t.mbox.gz")
    rc, err, _, _ = review(_url(server), "--timeout", "5")
    assert_one_line(rc, err, f"redirect to another server (http://127.0.0.1:{elsewhere.server_address[1]})")
    assert "tdxbot.follow-redirects" in err
    assert elsewhere.hits == 0


@pytest.mark.parametrize("target", ["https://127.0.0.1:{port}/all/t.mbox.gz", "http://localhost:{port}/x",
                                    "//127.0.0.2:{port}/x", "http://127.0.0.1:{port}@127.0.0.2:{port}/x",
                                    "ftp://127.0.0.1/x", "file:///etc/passwd", "http://[::1]:{port}/x",
                                    "http://[::1", "http://127.0.0.1:99999/x"])
def test_a_redirect_to_another_scheme_or_host_is_refused(server, target):
    server.handler = _redirect_to(target.format(port=server.server_address[1]))
    rc, err, _, _ = review(_url(server), "--timeout", "5")
    assert_one_line(rc, err, "refusing it")


def test_the_user_may_allow_a_redirect_to_another_server(server, elsewhere):
    server.handler = _redirect_to(f"{_url(elsewhere)}/{COVER}/t.mbox.gz")
    rc, err, _, _ = review(_url(server), "--timeout", "5", env=allow_redirects_env())
    assert_one_line(rc, err, "no patch found")  # fetched and read: the thread holds no patch
    assert elsewhere.hits == 1


def test_a_redirect_on_the_same_server_is_followed(server):
    server.handler = _SlowRedirects  # on the same server; it answers from hop 29
    rc, err, _, _ = review(_url(server, f"/hop{29 - lore_mod.MAX_REDIRECTS}"), "--timeout", "5")
    assert_one_line(rc, err, "no patch found")


def test_credentials_go_only_to_their_own_server(server, elsewhere):
    seen = []

    class Record(_Thread):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            super().do_GET()

    elsewhere.RequestHandlerClass = Record
    server.handler = _redirect_to(f"{_url(elsewhere)}/{COVER}/t.mbox.gz")
    port = server.server_address[1]
    rc, err, _, _ = review(f"http://alice:hunter2@127.0.0.1:{port}/all", "--timeout", "5",
                           env=allow_redirects_env())
    assert_one_line(rc, err, "no patch found")
    assert seen == [None] and "hunter2" not in err


# 4. A certificate that fails verification says so.

@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    try:
        from cryptography import x509  # noqa: F401
        have_cryptography = True
    except ImportError:
        have_cryptography = False
    if have_cryptography:
        _cert_with_cryptography(key, cert)
    elif shutil.which("openssl"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
    else:
        pytest.skip("neither the cryptography package nor openssl is available to make a certificate")
    return key, cert


def _cert_with_cryptography(key_path: Path, cert_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def tls_server(self_signed):
    key, cert = self_signed
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Thread)
    srv.daemon_threads = True
    # The handshake in the handler's thread, not in the accept loop, which a
    # client that stops halfway would block (and shutdown() with it).
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    srv.hits = 0
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_self_signed_certificate_is_named_in_one_line(tls_server, startup):
    port = tls_server.server_address[1]
    rc, err, took, _ = review(f"https://127.0.0.1:{port}/all", "--timeout", "5")
    assert_one_line(rc, err, f"https://127.0.0.1:{port}: TLS certificate verification failed for 127.0.0.1")
    assert "self-signed certificate" in err or "self signed certificate" in err, err
    assert_within(took, 0, startup)  # at once, not at the deadline


def test_a_trusted_certificate_is_accepted(tls_server, self_signed):
    _, cert = self_signed
    port = tls_server.server_address[1]
    rc, err, _, _ = review(f"https://127.0.0.1:{port}/all", "--timeout", "5",
                           env={"REQUESTS_CA_BUNDLE": str(cert)})
    assert_one_line(rc, err, "no patch found")
    assert tls_server.hits == 1


def test_https_goes_through_a_connect_proxy_within_the_deadline(tls_server, self_signed, startup):
    """https_proxy: a CONNECT tunnel (the proxy answers a byte at a time
    when told to drip, and the deadline holds there too)."""
    import socket

    seen = []
    drip = {"delay": 0.0}

    class Proxy(_Base):
        def do_CONNECT(self):
            seen.append(self.path)
            upstream = socket.create_connection(("127.0.0.1", tls_server.server_address[1]))
            self.raw(b"HTTP/1.1 200 Connection established\r\n\r\n", drip["delay"])

            def pump(src, dst):
                try:
                    while data := src.recv(65536):
                        dst.sendall(data)
                except OSError:
                    pass
                finally:
                    dst.close()

            threading.Thread(target=pump, args=(upstream, self.connection), daemon=True).start()
            pump(self.connection, upstream)

    _, cert = self_signed
    url = f"https://127.0.0.1:{tls_server.server_address[1]}/all"
    with loopback_http(Proxy) as proxy:
        env = {"https_proxy": _url(proxy, ""), "no_proxy": "", "REQUESTS_CA_BUNDLE": str(cert)}
        rc, err, _, _ = review(url, "--timeout", "5", env=env)
        assert_one_line(rc, err, "no patch found")
        assert seen == [f"127.0.0.1:{tls_server.server_address[1]}"] and tls_server.hits == 1
        drip["delay"] = 0.1
        rc, err, took, _ = review(url, "--timeout", "1.5", env=env)
        assert_one_line(rc, err, "timed out after 1.5s (connecting through the proxy)")
        assert_within(took, 1.5, startup)


# The successful path, against the real public-inbox.

def test_the_real_public_inbox_thread_comes_whole(lore):
    messages = fetch_thread(COVER, lore.url, 10)
    local = split_mbox((FIXTURES / "example-series.mbox").read_bytes())
    ids = {m["Message-ID"] for m in messages}
    assert len(messages) == len(local) + 1  # the series and the human reply
    assert "<human-review@example.org>" in ids


def test_the_inbox_redirect_is_followed_on_the_real_public_inbox(lore):
    """/all/ is not an inbox there: the 404, then the HEAD whose redirect
    names the inbox, as on lore."""
    origin = lore.url.rsplit("/", 1)[0]
    messages = fetch_thread("talk-0@example.org", f"{origin}/all", 10)
    assert [m["Message-ID"] for m in messages] == ["<talk-0@example.org>"]


def test_an_http_proxy_from_the_environment_is_used(server):
    server.handler = _Thread
    proxy = {"http_proxy": _url(server, ""), "no_proxy": ""}
    rc, err, _, _ = review("http://127.0.0.1:9/all", "--timeout", "5", env=proxy)
    assert_one_line(rc, err, "no patch found")
    assert server.hits == 1


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_cut_short_is_a_failed_download(server, chunked):
    class Cut(_Base):
        def do_GET(self):
            body = gzip.compress((FIXTURES / "example-series.mbox").read_bytes())
            self.send_response(200)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.raw(b"%x\r\n" % (len(body) + 1000) + body)
            else:
                self.send_header("Content-Length", str(len(body) + 1000))
                self.end_headers()
                self.raw(body)

    server.handler = Cut
    rc, err, _, _ = review(_url(server), "--timeout", "5")
    assert_one_line(rc, err, "download failed (connection closed " +
                    ("before the end of the body)" if chunked else "1000 bytes short)"))
