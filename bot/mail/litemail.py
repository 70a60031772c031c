"""A small reader for the plain mails git send-email and b4 produce.

Importing the email package costs more than checkpatch spends on a whole
patch, and the b4 check command starts once per patch. Most patch mails are
one text/plain part in 7bit or 8bit: this reader splits headers from body
for those and offers the few Message methods tdxbot uses. Anything else
(multipart, quoted-printable, base64) goes to the email package.
"""
from __future__ import annotations

_PLAIN_ENCODINGS = ("", "7bit", "8bit", "binary")


class LiteMessage:
    """The subset of email.message.Message that bot.mailparse reads."""

    def __init__(self, headers: list[tuple[str, str]], body: bytes):
        self._headers = headers
        self._body = body
        ctype, params = _parse_content_type(self.get("Content-Type") or "text/plain")
        self._ctype = ctype
        self._params = params

    def get(self, name: str, default=None):
        lname = name.lower()
        for key, value in self._headers:
            if key.lower() == lname:
                return value
        return default

    def get_all(self, name: str, default=None):
        lname = name.lower()
        found = [value for key, value in self._headers if key.lower() == lname]
        return found or default

    def items(self):
        return list(self._headers)

    def keys(self):
        return [k for k, _ in self._headers]

    def is_multipart(self) -> bool:
        return False

    def walk(self):
        yield self

    def get_content_type(self) -> str:
        return self._ctype

    def get_content_charset(self, failobj=None):
        return self._params.get("charset", failobj)

    def get_content_disposition(self):
        value = self.get("Content-Disposition")
        return value.split(";", 1)[0].strip().lower() if value else None

    def get_payload(self, decode: bool = False):
        if decode:
            return self._body
        return self._body.decode("utf-8", "surrogateescape")


def _parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    parts = value.split(";")
    ctype = parts[0].strip().lower() or "text/plain"
    params = {}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        if key.strip():
            params[key.strip().lower()] = val.strip().strip('"').lower()
    return ctype, params


def parse_lite(raw: bytes) -> LiteMessage | None:
    """A LiteMessage for a plain single-part mail; None when the email
    package is needed (multipart, quoted-printable, base64, odd headers)."""
    if raw.startswith(b"From ") and b"\n" in raw:
        raw = raw.split(b"\n", 1)[1]
    end = raw.find(b"\n\n")
    end_crlf = raw.find(b"\r\n\r\n")
    if end_crlf >= 0 and (end < 0 or end_crlf < end):
        head, body = raw[:end_crlf], raw[end_crlf + 4:]
    elif end >= 0:
        head, body = raw[:end], raw[end + 2:]
    else:
        head, body = raw, b""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return None  # raw 8-bit headers: let the email package sort them out
    headers: list[tuple[str, str]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or " " in name:
            return None
        headers.append((name, value.strip()))
    msg = LiteMessage(headers, body)
    cte = (msg.get("Content-Transfer-Encoding") or "").strip().lower()
    if msg.get_content_type().startswith("multipart/") or cte not in _PLAIN_ENCODINGS:
        return None
    return msg
