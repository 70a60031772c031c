"""Fetch a thread from a public-inbox server (lore or any mirror).

The requests are the ones liblore makes: GET {base}/{msgid}/t.mbox.gz, and
on a 404 a HEAD of {origin}/{msgid}/, whose redirect names the inbox that
holds the message.

The server may be hostile, so the transfer is made here, on http.client
and a socket this module owns, rather than through requests:

- `--timeout` is one deadline for the whole transfer. Name lookup,
  connect, the TLS handshake, the request, the status line and headers of
  every response, each redirect and the body all share it: the socket's
  timeout is set to the time left before every read, so a server that
  drips its headers a byte at a time, or redirects slowly again and again,
  is cut off when the time is up.
- A redirect must stay on the same scheme, host and port (http to https on
  the same host is the one exception); git config tdxbot.follow-redirects
  allows any.
- The body is decompressed as it arrives, in bounded pieces, and handed on
  (to sources.MboxSplitter, which splits and counts the mails), so neither
  the bytes on the wire, nor the bytes once decompressed, nor the number
  of mails can grow past their caps.
"""
from __future__ import annotations

import io
import re
import time
from collections.abc import Callable

from .. import __version__
from ..common import UserError

MAX_DOWNLOAD = 64 << 20  # bytes on the wire
MAX_MBOX = 128 << 20  # decompressed thread
MAX_REDIRECTS = 5  # lore needs one: from /all/<msgid>/ to the inbox holding it
MAX_GZIP_MEMBERS = 10_000  # public-inbox sends one; millions of empty ones only burn time
_CHUNK = 64 << 10  # one read from the socket
_PIECE = 1 << 20  # most bytes one decompression step hands on
_REDIRECTS = (301, 302, 303, 307, 308)


class _Expired(Exception):
    """The deadline passed."""


class _Clock:
    """The one deadline of a fetch, and what the fetch was doing (for the
    message when it runs out)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        budget = timeout if timeout == timeout else 0.1  # NaN
        self.end = time.monotonic() + min(max(budget, 0.1), 1e6)
        self.doing = "connecting"
        self.origin = ""
        self.received = 0  # bytes read from every socket of the fetch

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise _Expired
        return left

    def expired(self) -> UserError:
        return UserError(f"{self.origin}: timed out after {self.timeout:g}s ({self.doing})")


class _Wire:
    """The socket as http.client reads it: every read may wait only for the
    time left, however little each read brings."""

    def __init__(self, sock, clock: _Clock):
        self.sock = sock
        self.clock = clock

    def makefile(self, mode: str):
        return io.BufferedReader(_Reader(self.sock, self.clock), _CHUNK)

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.clock.left())
        self.sock.sendall(data)  # the timeout bounds the whole sendall


class _Reader(io.RawIOBase):
    def __init__(self, sock, clock: _Clock):
        self.sock = sock
        self.clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        clock = self.clock
        self.sock.settimeout(clock.left())
        got = self.sock.recv_into(buf)
        # Headers, chunk framing and trailers count with the body.
        clock.received += got
        if clock.received > MAX_DOWNLOAD:
            raise UserError(f"{clock.origin}: download larger than {MAX_DOWNLOAD >> 20} MiB; refusing it")
        return got


class _Decoder:
    """Streaming gunzip (several members allowed) with a ceiling on its
    output, which it hands on in pieces of at most _PIECE bytes."""

    def __init__(self, limit: int, what: str, emit: Callable[[bytes], None]):
        import zlib

        self.decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.limit = limit
        self.what = what
        self.emit = emit
        self.size = 0
        self.members = 0
        self.in_member = False

    def feed(self, data: bytes) -> None:
        import zlib

        while data:
            self.in_member = True
            try:
                piece = self.decomp.decompress(data, _PIECE)
            except zlib.error as exc:
                raise UserError(f"{self.what}: corrupt gzip data ({exc})") from None
            self.size += len(piece)
            if self.size > self.limit:
                raise UserError(f"{self.what}: thread larger than {self.limit >> 20} MiB "
                                "once decompressed; refusing it")
            if piece:
                self.emit(piece)
            if self.decomp.eof:
                # A gzip file may hold several members; start on the next one.
                self.in_member = False
                data = self.decomp.unused_data
                self.members += 1
                if self.members >= MAX_GZIP_MEMBERS and data:
                    raise UserError(f"{self.what}: more than {MAX_GZIP_MEMBERS:,} gzip members; "
                                    "refusing it")
                self.decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self.decomp.unconsumed_tail

    def close(self) -> None:
        if self.in_member:
            raise UserError(f"{self.what}: corrupt gzip data (truncated)")


class _Mbox:
    """The thread's gzip mbox: checks it is gzip, then decompresses it
    into sink."""

    def __init__(self, what: str, sink: Callable[[bytes], None]):
        self.what = what
        self.start = b""
        self.inner = _Decoder(MAX_MBOX, what, sink)

    def feed(self, data: bytes) -> None:
        if self.start is not None:
            self.start += data
            if len(self.start) < 2:
                return
            data, self.start = self.start, None
            if not data.startswith(b"\x1f\x8b"):
                raise UserError(f"{self.what}: the server did not send a gzip mbox")
        self.inner.feed(data)

    def close(self) -> None:
        if self.start is not None:
            raise UserError(f"{self.what}: the server did not send a gzip mbox")
        self.inner.close()


# URLs and what may be shown of them.

def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, never with a user or password."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def shown_url(url: str) -> str:
    """A URL as messages show it: origin and path, never a user or password."""
    import urllib.parse

    return _origin(url) + urllib.parse.urlsplit(url).path


def _endpoint(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, the port filled in."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise UserError(f"{_origin(url)}: not a valid port in the URL (0 to 65535)") from None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def _same_origin(old: str, new: str) -> bool:
    """new is on old's scheme, host and port, or is the https of an http
    URL on its default port (an upgrade, which lore itself makes)."""
    a, b = _endpoint(old), _endpoint(new)
    if a == b:
        return True
    return a == ("http", b[1], 80) and b == ("https", a[1], 443)


def _reason(exc: BaseException) -> str:
    text = re.sub(r"//[^/@\s]*@", "//", str(exc))  # no user:password@ in a message
    for needle in ("Connection refused", "timed out", "Name or service not known",
                   "No route to host", "Temporary failure in name resolution",
                   "Connection reset", "Connection aborted", "IncompleteRead",
                   "Network is unreachable", "No address associated"):
        if needle in text:
            return needle.lower()
    lines = text.splitlines()
    return lines[0][:120] if lines and lines[0].strip() else type(exc).__name__


def _follow_any_redirect(clock: _Clock) -> bool:
    """git config tdxbot.follow-redirects, read only when a redirect leaves
    the server (the common path runs no git), within the time left."""
    import subprocess

    clock.doing = "reading git config tdxbot.follow-redirects"
    try:
        out = subprocess.run(["git", "config", "--type=bool", "--get", "tdxbot.follow-redirects"],
                             capture_output=True, stdin=subprocess.DEVNULL, timeout=clock.left()).stdout
    except subprocess.TimeoutExpired:
        raise _Expired from None
    except (OSError, subprocess.SubprocessError):
        return False
    return out.strip() == b"true"


# The transfer.

class _Fetch:
    """One fetch: its clock, its TLS settings and its credentials (sent only
    to the server they were given for)."""

    def __init__(self, base: str, timeout: float, follow_redirects: bool | None):
        import urllib.parse

        self.clock = _Clock(timeout)
        self.clock.origin = _origin(base)
        self.base = base
        self.follow = follow_redirects
        parts = urllib.parse.urlsplit(base)
        self.auth = None
        if parts.username is not None:
            import base64

            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.tls = None

    def request(self, method: str, url: str, body: bytes = b""):
        """(response, final URL) after same-origin redirects, the response's
        headers read; close() the response. A body goes with a POST (and
        again with a 307 or 308; a 301, 302 or 303 turns it into a GET)."""
        import urllib.parse

        for _ in range(MAX_REDIRECTS + 1):
            resp = self._one(method, url, body if method == "POST" else b"")
            if resp.status not in _REDIRECTS:
                return resp, url
            location = resp.getheader("Location") or ""
            resp.close()
            if not location:
                raise UserError(f"{_origin(url)}: redirect (HTTP {resp.status}) without a Location")
            try:
                new = urllib.parse.urljoin(url, location.strip())
                bad = urllib.parse.urlsplit(new).scheme.lower() not in ("http", "https") or \
                    not urllib.parse.urlsplit(new).hostname
                _endpoint(new)
            except (ValueError, UserError):
                bad = True
            if bad:
                raise UserError(f"{_origin(url)}: redirect to a URL that is not a valid http(s) URL; "
                                "refusing it")
            if not _same_origin(url, new):
                if self.follow is None:
                    self.follow = _follow_any_redirect(self.clock)
                if not self.follow:
                    raise UserError(f"{_origin(url)}: redirect to another server ({_origin(new)}); "
                                    "refusing it (git config tdxbot.follow-redirects true allows it)")
            self.clock.doing = "following redirects"
            if resp.status in (301, 302, 303) and method == "POST":
                method = "GET"
            url = new
        raise UserError(f"{_origin(url)}: more than {MAX_REDIRECTS} redirects; refusing them")

    def _one(self, method: str, url: str, body: bytes = b""):
        import urllib.parse

        import http.client

        clock = self.clock
        clock.origin = _origin(url)
        scheme, host, port = _endpoint(url)
        host = _ascii_host(host, url)
        parts = urllib.parse.urlsplit(url)
        # Re-quote what is not safe in a request line (a space, a control
        # character, non-ASCII); what is quoted already stays as it is.
        target = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~") + \
            (f"?{urllib.parse.quote(parts.query, safe='/%:@!$&()*+,;=-._~?')}" if parts.query else "")
        proxy = _proxy_for(scheme, host)
        clock.doing = "connecting"
        if proxy and scheme == "http":
            sock = self._connect(*_endpoint(proxy)[1:])
            target = f"http://{_hostport(host, port, 80)}{target}"
        elif proxy:
            sock = self._connect(*_endpoint(proxy)[1:])
            sock = self._tunnel(sock, host, port, proxy)
        else:
            sock = self._connect(host, port)
        try:
            if scheme == "https":
                sock = self._tls(sock, host)
            wire = _Wire(sock, clock)
            lines = [f"{method} {target} HTTP/1.1", f"Host: {_hostport(host, port, 443 if scheme == 'https' else 80)}",
                     f"User-Agent: tdxbot/{__version__}", "Accept-Encoding: identity", "Accept: */*",
                     "Connection: close"]
            if self.auth and _same_origin(self.base, url):
                lines.append(f"Authorization: {self.auth}")
            if proxy and scheme == "http":
                lines += _proxy_auth(proxy)
            if method == "POST":
                lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
            clock.doing = "sending the request"
            wire.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            clock.doing = "reading the response headers"
            resp = http.client.HTTPResponse(wire, method=method)
            resp.begin()
        except BaseException:
            sock.close()
            raise
        return _Closing(resp, sock)

    def _connect(self, host: str, port: int):
        """A TCP connection to host:port, looked up and made within the time left."""
        import socket

        clock = self.clock
        infos = _resolve(host, port, clock)
        clock.doing = "connecting"
        error: OSError | None = None
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(clock.left())
                sock.connect(address)
                return sock
            except BaseException as exc:
                sock.close()
                if not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
                    raise
                error = exc
        raise error or OSError(f"no address for {host}")

    def _tls(self, sock, host: str):
        """TLS over sock, verified as requests verifies it; the handshake
        waits only for the time left (CPython gives it one deadline)."""
        if self.tls is None:
            self.tls = _tls_context()
        self.clock.doing = "the TLS handshake"
        sock.settimeout(self.clock.left())
        return self.tls.wrap_socket(sock, server_hostname=host)

    def _tunnel(self, sock, host: str, port: int, proxy: str):
        import http.client

        self.clock.doing = "connecting through the proxy"
        wire = _Wire(sock, self.clock)
        lines = [f"CONNECT {_hostport(host, port, None)} HTTP/1.1", f"Host: {_hostport(host, port, None)}",
                 f"User-Agent: tdxbot/{__version__}"] + _proxy_auth(proxy)
        try:
            wire.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            resp = http.client.HTTPResponse(wire, method="CONNECT")
            resp.begin()
        except BaseException:
            sock.close()
            raise
        if resp.status != 200:
            sock.close()
            raise UserError(f"proxy {_origin(proxy)}: answered HTTP {resp.status} to CONNECT {host}:{port}")
        return sock


class _Closing:
    """A response that closes its socket with it."""

    def __init__(self, resp, sock):
        self.resp, self.sock = resp, sock
        self.status = resp.status

    def getheader(self, name: str, default=None):
        return self.resp.getheader(name, default)

    def read1(self, n: int) -> bytes:
        return self.resp.read1(n)

    def missing(self) -> int:
        """Bytes the Content-Length promised that never came."""
        if self.resp.chunked:
            return 0  # a cut chunked body fails in read1 (IncompleteRead)
        return self.resp.length or 0

    def close(self) -> None:
        try:
            self.resp.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _ascii_host(host: str, url: str) -> str:
    """The host as it goes on the wire (IDNA for a name in another script)."""
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise UserError(f"not a valid host name in {_origin(url)!r}") from None
    if not host or not re.fullmatch(r"[A-Za-z0-9._:\-\[\]]+", host):
        raise UserError(f"not a valid host name in {_origin(url)!r}")
    return host


def _hostport(host: str, port: int, default: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default else f"{shown}:{port}"


def _resolve(host: str, port: int, clock: _Clock) -> list:
    """getaddrinfo within the time left: a literal address at once, a name
    in a thread the fetch stops waiting for at the deadline."""
    import ipaddress
    import socket

    try:
        ipaddress.ip_address(host)
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except ValueError:
        pass
    import threading

    box: dict = {}

    def look_up():
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    clock.doing = "looking up the server's name"
    worker = threading.Thread(target=look_up, daemon=True)
    worker.start()
    worker.join(clock.left())
    if worker.is_alive():
        raise _Expired
    if "error" in box:
        raise box["error"]
    return box["infos"]


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this request (http_proxy,
    https_proxy, all_proxy, no_proxy), as requests would use it."""
    import urllib.parse

    import os

    if not any(k.lower().endswith("_proxy") for k in os.environ):
        return None
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(host, proxies):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    if urllib.parse.urlsplit(proxy).scheme.lower() != "http":
        raise UserError(f"proxy {_origin(proxy)}: only http:// proxies are supported")
    return proxy


def _proxy_auth(proxy: str) -> list[str]:
    import urllib.parse

    parts = urllib.parse.urlsplit(proxy)
    if parts.username is None:
        return []
    import base64

    pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
    return [f"Proxy-Authorization: Basic {base64.b64encode(pair.encode()).decode()}"]


def _tls_context():
    """Verified TLS with the CA bundle requests would use: REQUESTS_CA_BUNDLE
    or CURL_CA_BUNDLE, else certifi's, else the system's."""
    import os
    import ssl

    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not cafile:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            cafile = None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"cannot load the CA certificates {cafile}: {_reason(exc)}") from None


def _failed(fetch: _Fetch, exc: BaseException, body: bool) -> UserError:
    """The one line a failed transfer ends in."""
    import urllib.parse

    import http.client
    import ssl

    origin = fetch.clock.origin
    if isinstance(exc, (_Expired, TimeoutError)):
        return fetch.clock.expired()
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or _reason(exc)
        return UserError(f"{origin}: TLS certificate verification failed for "
                         f"{urllib.parse.urlsplit(origin).hostname} ({why})")
    if isinstance(exc, ssl.SSLError):
        return UserError(f"{origin}: TLS failed ({exc.reason or _reason(exc)})")
    if isinstance(exc, http.client.IncompleteRead):
        return UserError(f"{origin}: download failed (connection closed before the end of the body)")
    if body:
        return UserError(f"{origin}: download failed ({_reason(exc)})")
    if isinstance(exc, (http.client.HTTPException, UnicodeError)):
        return UserError(f"{origin}: not a valid HTTP answer ({type(exc).__name__}: {_reason(exc)})")
    if fetch.clock.doing in ("looking up the server's name", "connecting"):
        return UserError(f"{origin}: server unreachable ({_reason(exc)})")
    return UserError(f"{origin}: connection failed while {fetch.clock.doing} ({_reason(exc)})")


def _failures():
    import http.client

    return (_Expired, OSError, http.client.HTTPException, UnicodeError, ValueError)


def _download(fetch: _Fetch, resp: _Closing, sink: Callable[[bytes], None], what: str) -> None:
    """Hand the body of resp, gunzipped, to sink, within the caps and the
    deadline."""
    clock = fetch.clock
    encoding = (resp.getheader("Content-Encoding") or "").strip().lower()
    mbox = _Mbox(what, sink)
    outer = _Decoder(MAX_MBOX, what, mbox.feed) if encoding in ("gzip", "x-gzip") else None
    clock.doing = "downloading"
    while True:
        data = resp.read1(_CHUNK)  # the wire's bytes are counted and capped as they are read
        if not data:
            break
        (outer or mbox).feed(data)
        clock.left()  # decompressing and splitting count too
    if resp.missing():
        raise UserError(f"{clock.origin}: download failed (connection closed "
                        f"{resp.missing()} bytes short)")
    if outer:
        outer.close()
    mbox.close()


def stream_thread_mbox(base_url: str, msgid: str, sink: Callable[[bytes], None],
                       timeout: float = 30.0, follow_redirects: bool | None = None) -> None:
    """Hand the thread holding msgid, as decompressed mbox bytes in pieces,
    to sink; all of it within timeout seconds. follow_redirects: None reads
    git config tdxbot.follow-redirects when a redirect leaves the server."""
    import urllib.parse

    base = base_url.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    shown = shown_url(base)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserError(f"not an http(s) URL: {shown!r}")
    _endpoint(base)  # a bad port fails here, before any request
    quoted = urllib.parse.quote_plus(msgid)
    where = f"{shown} thread {msgid}"
    fetch = _Fetch(base, timeout, follow_redirects)
    in_body = False
    try:
        resp, _ = fetch.request("GET", f"{base}/{quoted}/t.mbox.gz")
        if resp.status == 404:
            resp.close()
            server = f"{parts.scheme}://{parts.netloc}"
            head, final = fetch.request("HEAD", f"{server}/{quoted}/")
            head.close()
            if head.status == 200:
                final_parts = urllib.parse.urlsplit(final)
                resp, _ = fetch.request("GET", f"{final_parts.scheme}://{final_parts.netloc}"
                                               f"{final_parts.path.rstrip('/')}/t.mbox.gz")
        with resp:
            if resp.status == 404:
                raise UserError(f"{msgid}: not found on {shown}")
            if resp.status != 200:
                raise UserError(f"{shown}: server answered HTTP {resp.status} for {msgid}")
            in_body = True
            _download(fetch, resp, sink, where)
    except UserError:
        raise
    except _failures() as exc:
        raise _failed(fetch, exc, in_body) from None


def stream_search_mbox(base_url: str, query: str, sink: Callable[[bytes], None], timeout: float = 30.0,
                       follow_redirects: bool | None = None) -> bool:
    """Hand the messages a public-inbox search finds (the query language
    of lore: s:, f:, nq:, d:) to sink as decompressed mbox bytes, as b4
    asks for them: POST {base}/?x=m&q=QUERY. False when nothing matched
    (the server's 404); every other failure is a UserError, as for a
    thread."""
    import urllib.parse

    base = base_url.rstrip("/")
    parts = urllib.parse.urlsplit(base)
    shown = shown_url(base)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserError(f"not an http(s) URL: {shown!r}")
    _endpoint(base)
    where = f"{shown} search {query[:80]!r}"
    fetch = _Fetch(base, timeout, follow_redirects)
    in_body = False
    try:
        resp, _ = fetch.request("POST", f"{base}/?x=m&q={urllib.parse.quote_plus(query)}", b"x=m")
        with resp:
            if resp.status == 404:
                return False
            if resp.status != 200:
                raise UserError(f"{shown}: server answered HTTP {resp.status} to a search")
            in_body = True
            _download(fetch, resp, sink, where)
        return True
    except UserError:
        raise
    except _failures() as exc:
        raise _failed(fetch, exc, in_body) from None


def fetch_thread_mbox(base_url: str, msgid: str, timeout: float = 30.0,
                      follow_redirects: bool | None = None) -> bytes:
    """The thread holding msgid, as mbox bytes."""
    pieces: list[bytes] = []
    stream_thread_mbox(base_url, msgid, pieces.append, timeout, follow_redirects)
    return b"".join(pieces)
