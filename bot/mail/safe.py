"""Values read from mail, made safe to put into mail we write.

Everything a reply's headers carry comes from someone else's mail: the
subject, the names and addresses of the people in the thread, the
Message-IDs it threads under. The email package decodes RFC 2047 encoded
words whenever it parses a header value, including values we hand it, so a
value decoded once and handed over as text is decoded again: an encoded
CR LF in a Message-ID or a doubly encoded subject becomes new header lines.
The rules here keep that from happening:

- Message-IDs and references are printable ASCII with no whitespace, no
  angle brackets and no "=?" (nothing the email package would decode);
  anything else is refused, never repaired.
- Addresses are split from the raw header with every encoded word held as
  one opaque atom, so an encoded display name can never become an address.
- Free text (subjects, display names) is decoded once by the caller, then
  loses its control characters and line breaks, and any "=?" left in it is
  broken up, so no later decoding finds an encoded word in it.
- After a reply is serialised, its header block is read back and compared
  with what was meant to be there (verify_reply); a mismatch stops it.
"""
from __future__ import annotations

import re

from ..common import NamedTuple, UserError, lazy_re

MAX_MSGID = 250  # RFC 5322 lines are 998 octets; real ids are far shorter
MAX_ADDRESS = 254
MAX_NAME = 120
MAX_SUBJECT = 400
MAX_REFERENCES = 40

_MSGID_TEXT = lazy_re(r"^[!-;=?-~]+$")  # printable ASCII without space, "<" or ">"
_LOCAL = lazy_re(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN = lazy_re(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_ENCODED_WORD = lazy_re(r"=\?[^?\s]*\?[qQbB]\?[^?\s]*\?=")
_BRACKETED = lazy_re(r"<([^<>]*)>")
_HEADER_NAME = lazy_re(r"^[!-9;-~]+$")


class UnsafeReply(UserError):
    """A reply that does not come out as it was meant to; it is not stored or sent."""


# -- text ------------------------------------------------------------------------


def _is_break_or_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or ch in "\u2028\u2029" or 0xD800 <= code <= 0xDFFF


# What _is_break_or_control() accepts, as one character class.
_BREAK_OR_CONTROL = lazy_re("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Text with every control character, line break and lone surrogate
    turned into a space, and runs of whitespace folded into one."""
    return " ".join(_BREAK_OR_CONTROL.sub(" ", text).split())


def header_text(text: str, limit: int = MAX_SUBJECT) -> str:
    """Decoded text made fit for a header we write: clean, no "=?" that a
    reader could take for an encoded word, at most limit characters."""
    text = clean_text(text)
    if "=?" in text:
        text = text.replace("=?", "= ?")
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unprintable(ch: str) -> bool:
    return (_is_break_or_control(ch) and ch != "\t") or ch in _BIDI


# What _unprintable() accepts, as one character class (the report prints
# every line through printable(); a test per character was a tenth of it).
_UNPRINTABLE = lazy_re("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
                       "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text for a terminal or a log: control characters (escape sequences,
    bells, backspaces) and bidirectional overrides shown as \\xNN or
    \\uNNNN instead of reaching the terminal."""
    if not _UNPRINTABLE.search(text):
        return text
    return "".join((f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") if _unprintable(ch) else ch
                   for ch in text)


# -- Message-IDs -------------------------------------------------------------------


def valid_msgid(value: str) -> bool:
    return 0 < len(value) <= MAX_MSGID and "=?" not in value and bool(_MSGID_TEXT.match(value))


def parse_msgid(value) -> tuple[str | None, str | None]:
    """(id, None) for a usable Message-ID header value, (None, why) for one
    that is there but unusable, (None, None) for none at all. The value is
    the raw header: never decoded."""
    if value is None:
        return None, None
    text = str(value).strip()
    if not text:
        return None, None
    m = _BRACKETED.search(text)
    candidate = m.group(1) if m else text
    if valid_msgid(candidate):
        return candidate, None
    return None, f"unusable Message-ID {printable(candidate[:80])!r}"


def parse_msgid_list(value) -> tuple[list[str], list[str]]:
    """The usable ids of a References or In-Reply-To header, and the
    unusable ones (each already shown safely)."""
    good, bad = [], []
    for candidate in _BRACKETED.findall(str(value or "")):
        if valid_msgid(candidate):
            good.append(candidate)
        else:
            bad.append(printable(candidate[:80]))
    return good, bad


def trim_references(refs: list[str]) -> list[str]:
    """At most MAX_REFERENCES ids: the thread's root and the newest ones,
    which is what RFC 5322 suggests keeping."""
    if len(refs) <= MAX_REFERENCES:
        return refs
    return refs[:1] + refs[-(MAX_REFERENCES - 1):]


# -- addresses ---------------------------------------------------------------------


def clean_address(addr: str) -> str | None:
    """A plain ASCII addr-spec (local@domain), or None."""
    addr = addr.strip()
    if len(addr) > MAX_ADDRESS or addr.count("@") != 1 or "=?" in addr:
        return None
    local, domain = addr.split("@")
    if not _LOCAL.match(local) or not _DOMAIN.match(domain):
        return None
    return addr


def split_addresses(raw_values) -> list[tuple[str, str]]:
    """(display name, addr-spec) of each mailbox in raw header values.
    Encoded words are swapped for opaque atoms before the address parser
    sees the text and decoded after it: RFC 2047 makes an encoded word one
    word of a phrase, so nothing inside it can be an address or a comma.
    Names are decoded once and cleaned; unusable addresses are left out."""
    from email.utils import getaddresses

    words: list[str] = []

    def hold(m) -> str:
        words.append(m.group(0))
        return f"tdxbotencodedword{len(words) - 1}x"

    texts = []
    for value in raw_values:
        if value is None:
            continue
        text = clean_text(str(value))
        texts.append(_ENCODED_WORD.sub(hold, text))
    out = []
    for name, addr in getaddresses(texts):
        good = clean_address(addr)
        if good is None:
            continue
        if words:
            name = re.sub(r"tdxbotencodedword(\d+)x", lambda m: words[int(m.group(1))], name)
        out.append((decode_words(name) if "=?" in name else clean_text(name), good))
    return out


# Characters of one header value that are decoded. No real subject or name
# comes near it; the email package's decoding grows with the square of the
# encoded words in a value (32,000 of them took seconds, each time).
MAX_DECODED = 16_384


def decode_words(text: str) -> str:
    """RFC 2047 decoding, once, that never raises; then clean_text. A value
    past MAX_DECODED characters is cut there first."""
    text = text[:MAX_DECODED]
    if "=?" in text:
        from email.header import decode_header, make_header

        try:
            text = str(make_header(decode_header(text)))
        except Exception:  # noqa: BLE001 - a broken encoded word stays as sent
            pass
    return clean_text(text)


# -- the reply as written --------------------------------------------------------------


class Intended(NamedTuple):
    """What a reply's header block must hold, and nothing else."""
    names: tuple[str, ...]  # header names, one entry per header line
    recipients: frozenset[str]  # To and Cc addr-specs, lower case
    sender: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]


def _header_block(data: bytes) -> list[tuple[str, str]]:
    """The raw header lines of a serialised mail as (name, unfolded value),
    refusing anything a careful reader would not parse the same way."""
    end = data.find(b"\n\n")
    if end < 0:
        raise UnsafeReply("the reply has no body separator")
    head = data[:end]
    if b"\r" in head or b"\0" in head:
        raise UnsafeReply("the reply's header block holds a CR or NUL byte")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise UnsafeReply("the reply's header block is not ASCII") from None
    fields: list[tuple[str, str]] = []
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
            continue
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.match(name):
            raise UnsafeReply(f"the reply has a malformed header line {printable(line[:60])!r}")
        fields.append((name, value))
    return fields


def verify_reply(data: bytes, intended: Intended) -> None:
    """Raise UnsafeReply unless the serialised reply has exactly the
    intended header lines, recipients, sender, subject and threading."""
    from email import policy
    from email.parser import BytesParser

    fields = _header_block(data)
    names = sorted(n.lower() for n, _ in fields)
    if names != sorted(n.lower() for n in intended.names):
        raise UnsafeReply(f"the reply's headers are {names}, not the intended {sorted(intended.names)}")
    msg = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
    got = set()
    for header in ("To", "Cc"):
        value = msg[header]
        if value is not None:
            got.update(a.addr_spec.lower() for a in value.addresses)
    if got != set(intended.recipients):
        raise UnsafeReply(f"the reply's recipients {sorted(got)} are not the intended "
                          f"{sorted(intended.recipients)}")
    senders = [a.addr_spec.lower() for a in msg["From"].addresses] if msg["From"] else []
    if senders != [intended.sender.lower()]:
        raise UnsafeReply(f"the reply's sender {senders} is not {intended.sender}")
    if str(msg["Subject"] or "") != intended.subject:
        raise UnsafeReply("the reply's subject does not read back as it was written")
    own = parse_msgid(msg["Message-ID"])[0]
    if own is None:
        raise UnsafeReply("the reply has no usable Message-ID")
    if intended.in_reply_to is not None:
        if parse_msgid_list(msg["In-Reply-To"]) != ([intended.in_reply_to], []):
            raise UnsafeReply("the reply's In-Reply-To does not read back as it was written")
        if parse_msgid_list(msg["References"]) != (list(intended.references), []):
            raise UnsafeReply("the reply's References do not read back as they were written")


ALLOWED_HEADERS = frozenset({
    "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references", "x-mailer",
    "x-tdxbot", "auto-submitted", "content-type", "content-transfer-encoding", "mime-version"})


def envelope(data: bytes) -> tuple[str, list[str]]:
    """(sender, recipients) of a stored reply, read back under the same
    rules: each allowed header at most once, no other header, plain
    addresses only. The SMTP envelope is built from this and nothing else."""
    from email import policy
    from email.parser import BytesParser

    fields = _header_block(data)
    names = [n.lower() for n, _ in fields]
    odd = sorted({n for n in names if n not in ALLOWED_HEADERS or names.count(n) > 1})
    if odd:
        raise UnsafeReply(f"stored reply has unexpected or repeated headers: {', '.join(odd)}")
    msg = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
    rcpts: list[str] = []
    for header in ("To", "Cc"):
        value = msg[header]
        for a in (value.addresses if value is not None else ()):
            addr = clean_address(a.addr_spec)
            if addr is None:
                raise UnsafeReply(f"stored reply has an unusable recipient {printable(a.addr_spec)!r}")
            if addr.lower() not in (r.lower() for r in rcpts):
                rcpts.append(addr)
    senders = msg["From"].addresses if msg["From"] else ()
    if len(senders) != 1 or clean_address(senders[0].addr_spec) is None:
        raise UnsafeReply("stored reply has no single usable sender")
    if not rcpts:
        raise UnsafeReply("stored reply has no recipients")
    return senders[0].addr_spec, rcpts
