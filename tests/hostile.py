"""Hostile and odd mails, built in code (a 20 MB patch does not belong in git)."""
from __future__ import annotations

import base64
import quopri
import time
from email.utils import formatdate

from mails import patch_mail

HEAD = ("From: Eve Example <eve@example.org>\nTo: linux-kernel@vger.kernel.org\n"
        "Date: Mon, 14 Sep 2026 09:00:00 +0200\n")


def _diff(path="arch/x86/virt/vmx/tdx/tdx.c", body="+int x;", header="@@ -1,0 +1,1 @@"):
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n{header}\n{body}"


def _mail(subject: str, body: str, msgid: str = "h@example.org", extra: str = "") -> bytes:
    return (HEAD + f"Subject: {subject}\nMessage-ID: <{msgid}>\n{extra}\n{body}\n").encode("utf-8", "surrogateescape")


def corpus() -> dict[str, bytes]:
    ok_diff = _diff(body="+int x;\n+int y;", header="@@ -10,0 +10,2 @@")
    cases = {
        "truncated-diff": _mail("[PATCH] x86/virt/tdx: Cut", "Cut.\n---\n" + ok_diff[:-9]),
        "wrong-hunk-counts": _mail("[PATCH] x86/virt/tdx: Counts", "Bad counts.\n---\n" +
                                   _diff(body="+a\n+b", header="@@ -1,5 +1,9 @@")),
        "binary-diff": _mail("[PATCH] x86/virt/tdx: Blob", "Binary.\n---\n"
                             "diff --git a/fw.bin b/fw.bin\nnew file mode 100644\nindex 0000000..1111111\n"
                             "Binary files /dev/null and b/fw.bin differ\n"),
        "git-binary-patch": _mail("[PATCH] x86/virt/tdx: Blob", "Binary.\n---\n"
                                  "diff --git a/fw.bin b/fw.bin\nnew file mode 100644\nindex 0000000..1111111\n"
                                  "GIT binary patch\nliteral 4\nLcmZ?d00001\n\nliteral 0\nHcmV?d00001\n"),
        "rename-delete-mode": _mail("[PATCH] x86/virt/tdx: Move", "Move.\n---\n"
                                    "diff --git a/arch/x86/kvm/vmx/tdx_errno.h b/arch/x86/include/asm/shared/tdx_errno.h\n"
                                    "similarity index 100%\nrename from arch/x86/kvm/vmx/tdx_errno.h\n"
                                    "rename to arch/x86/include/asm/shared/tdx_errno.h\n"
                                    "diff --git a/old.c b/old.c\ndeleted file mode 100644\nindex 1111111..0000000\n"
                                    "--- a/old.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-int gone;\n"
                                    "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"),
        "crlf": patch_mail("[PATCH] x86/virt/tdx: CRLF", "crlf@example.org",
                           code="\tif (ret & TDX_SW_ERROR)\n\t\treturn;").replace("\n", "\r\n").encode(),
        "base64-body": (HEAD + "Subject: [PATCH] x86/virt/tdx: B64\nMessage-ID: <b64@example.org>\n"
                        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                        "Content-Transfer-Encoding: base64\n\n").encode() +
                       base64.encodebytes(("Base64.\n---\n" + ok_diff + "\n").encode()),
        "quoted-printable": (HEAD + "Subject: [PATCH] x86/virt/tdx: QP\nMessage-ID: <qp@example.org>\n"
                             "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                             "Content-Transfer-Encoding: quoted-printable\n\n").encode() +
                            quopri.encodestring(("QP caf\u00e9.\n---\n" + ok_diff + "\n").encode()),
        "latin1": (HEAD + "Subject: [PATCH] x86/virt/tdx: Latin\nMessage-ID: <l1@example.org>\n"
                   "Content-Type: text/plain; charset=iso-8859-1\n\n").encode() +
                  ("Caf\u00e9 au lait.\n---\n" + ok_diff + "\n").encode("latin-1"),
        "unknown-charset": (HEAD + "Subject: [PATCH] x86/virt/tdx: X\nMessage-ID: <x@example.org>\n"
                            "Content-Type: text/plain; charset=x-no-such-charset\n\n").encode() +
                           ("\xe9\xff odd.\n---\n" + ok_diff + "\n").encode("latin-1"),
        "format-flowed": _mail("[PATCH] x86/virt/tdx: Flowed", "A flowed \nparagraph.\n---\n" + ok_diff,
                               extra="Content-Type: text/plain; charset=utf-8; format=flowed\n"),
        "html-only": _mail("[PATCH] x86/virt/tdx: HTML", "<html><body><pre>" + ok_diff + "</pre></body></html>",
                           extra="Content-Type: text/html\n"),
        "nested-multipart": (HEAD + "Subject: [PATCH] x86/virt/tdx: Parts\nMessage-ID: <mp@example.org>\n"
                             "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=AAA\n\n"
                             "--AAA\nContent-Type: multipart/alternative; boundary=BBB\n\n"
                             "--BBB\nContent-Type: text/html\n\n<p>hi</p>\n--BBB\n"
                             "Content-Type: text/plain\n\nInner.\n---\n" + ok_diff + "\n--BBB--\n--AAA--\n").encode(),
        "reply-quoting-a-patch": _mail("Re: [PATCH] x86/virt/tdx: Quote",
                                       "On Monday Alice wrote:\n" + "\n".join("> " + ln for ln in ok_diff.split("\n"))
                                       + "\n\nLooks fine."),
        "megabyte-line": _mail("[PATCH] x86/virt/tdx: Long", "Long.\n---\n" +
                               _diff(body="+int x = " + "1 + " * 250_000 + "1;")),
        "megabyte-subject": _mail("[PATCH] " + "x86/virt/tdx: " * 80_000 + "Add", "Long.\n---\n" + ok_diff),
        "msgid-path-separators": _mail("[PATCH] x86/virt/tdx: Ids", "Ids.\n---\n" + ok_diff,
                                       msgid="../../etc/passwd;rm -rf $HOME`id`@example.org"),
        "empty-subject": _mail("", "No subject.\n---\n" + ok_diff),
        "no-patch-prefix": _mail("x86/virt/tdx: No prefix", "No prefix.\n---\n" + ok_diff),
        "header-only": (HEAD + "Subject: [PATCH] nothing\n").encode(),
        "nul-bytes": _mail("[PATCH] x86/virt/tdx: Nul", "Nul \0 here.\n---\n" + _diff(body="+int\0x;")),
        "encoded-words": (HEAD.replace("Eve Example", "=?utf-8?q?=C3=89ve?= <eve@example.org>") +
                          "Subject: =?utf-8?b?W1BBVENIXSB4ODYvdmlydC90ZHg6IMOJdMOp?=\n"
                          "Message-ID: <ew@example.org>\n\nEncoded.\n---\n" + ok_diff + "\n").encode(),
        "bad-encoded-words": (HEAD + "Subject: =?x-bogus?q?=ZZ?= [PATCH] =?utf-8?b?!!!?=\n"
                              "Message-ID: <bew@example.org>\n\nBad words.\n---\n" + ok_diff + "\n").encode(),
        "mbox-of-junk": b"From nobody Mon Sep 14 09:00:00 2026\n\n\nFrom nobody\nnot a header\n",
        "deep-nesting": _mail("[PATCH] x86/virt/tdx: Deep", "Deep.\n---\n" +
                              _diff(body="\n".join(["+" + "{" * 2000 + "}" * 2000, "+" + "(" * 3000 + ")" * 3000]),
                                    header="@@ -1,0 +1,2 @@")),
    }
    n = 400_000
    big_lines = "\n".join(f"+\tret = seamcall(TDH_SYS_{i % 97}, &args); /* {i:07d} */" for i in range(n))
    cases["20MB-patch"] = _mail("[PATCH] x86/virt/tdx: Huge", "Huge.\n---\n" +
                                _diff(body=big_lines, header=f"@@ -1,0 +1,{n} @@"))
    return cases


# -- mails written to turn the responder against the list (issue 12) ------------
#
# Every address an attack tries to add is at EVIL (a test fails if one ever
# receives mail or shows in a header), and every body line an attack tries to
# add starts with MARKER. Each mail is a TDX patch with a finding, so that a
# reply is drafted and its headers are put to the test.

EVIL = "evil.example"
MARKER = "INJECTED"
AUTHOR = "eve@example.org"
LIST = "tdx@lists.example.org"
# The only addresses a reply to these mails may go to.
ALLOWED = frozenset({AUTHOR, LIST, "linux-kernel@vger.kernel.org", "mytdxbot@example.org", "alice@example.org",
                     "noreplyson@example.org", "carol@example.org"} |
                    {f"person{i}@example.org" for i in range(5000)})
BAD_CODE = "\tif (ret & TDX_SW_ERROR)\n\t\treturn;"


def _b64(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _q(text: str) -> str:
    return "=?utf-8?q?" + "".join(c if (c.isascii() and c.isalnum()) or c in "<>@.,:[]/-" else f"={b:02X}"
                                  for c in text for b in c.encode()).replace("=20", "_") + "?="


def _attack(name: str, headers: list[str], date: str, body: str | None = None, subject: str | None = None,
            msgid: str | None = None) -> bytes:
    """A patch mail with the given extra or replacing header lines (raw)."""
    names = {h.split(":", 1)[0].lower() for h in headers}
    head = []
    if "from" not in names:
        head.append(f"From: Eve Example <{AUTHOR}>")
    if "to" not in names:
        head.append(f"To: {LIST}")
    if "cc" not in names:
        head.append("Cc: Carol <carol@example.org>")
    if "date" not in names:
        head.append(f"Date: {date}")
    if "subject" not in names:
        head.append(f"Subject: {subject or f'[PATCH] x86/virt/tdx: Attack {name}'}")
    if "message-id" not in names:
        head.append(f"Message-ID: <{msgid or 'adv-' + name}@example.org>")
    head += headers
    if body is None:
        diff = ("diff --git a/arch/x86/virt/vmx/tdx/tdx.c b/arch/x86/virt/vmx/tdx/tdx.c\n"
                "index 1111111..2222222 100644\n--- a/arch/x86/virt/vmx/tdx/tdx.c\n"
                "+++ b/arch/x86/virt/vmx/tdx/tdx.c\n@@ -10,2 +10,4 @@\n context one\n"
                + "".join("+" + ln + "\n" for ln in BAD_CODE.split("\n")) + " context two\n")
        body = (f"Check the status word before use.\n\nSigned-off-by: Eve Example <{AUTHOR}>\n---\n"
                f"{diff}-- \n2.53.0\n")
    return ("\n".join(head) + "\n\n" + body).encode("utf-8", "surrogateescape")


def adversarial(now: float | None = None) -> dict[str, bytes]:
    """Hostile list mail, by the kind of attack. Dated an hour before now
    (so the responder's age limit does not hide them)."""
    date = formatdate((now or time.time()) - 3600)
    crlf_bcc = f"x\r\nBcc: victim@{EVIL}"
    body_break = f"x\r\n\r\n{MARKER} by the attacker"
    cases: dict[str, bytes] = {}

    def add(name, *headers, **kw):
        cases[name] = _attack(name, list(headers), date, **kw)

    # Message-IDs and threading headers
    add("msgid-encoded-crlf", f"Message-ID: <{_q(crlf_bcc)}@example.org>")
    add("msgid-encoded-blank-line", f"Message-ID: <{_q(body_break)}@example.org>")
    add("msgid-base64-crlf", f"Message-ID: <{_b64(crlf_bcc)}@example.org>")
    add("msgid-encoded-lf", f"Message-ID: <{_q(f'x{chr(10)}Cc: victim@{EVIL}')}@example.org>")
    add("msgid-space", "Message-ID: <adv space@example.org>")
    add("msgid-8bit", "Message-ID: <adv-caf\u00e9@example.org>")
    add("msgid-nul", "Message-ID: <adv-n\0ul@example.org>")
    add("msgid-overlong", f"Message-ID: <adv-{'x' * 5000}@example.org>")
    add("msgid-two-headers", "Message-ID: <adv-two-a@example.org>", "Message-ID: <adv-two-b@example.org>")
    add("in-reply-to-encoded", f"In-Reply-To: <{_q(crlf_bcc)}@example.org>",
        f"References: <{_q(crlf_bcc)}@example.org>")
    add("references-encoded", f"References: <adv-root@example.org> <{_q(crlf_bcc)}@example.org>")
    add("references-double-encoded", f"References: {_b64('<' + _q(crlf_bcc) + '@example.org>')}")
    add("references-10000", "References: " + " ".join(f"<r{i}@example.org>" for i in range(10000)))
    # Subjects
    add("subject-encoded-crlf", subject=f"[PATCH] x86/virt/tdx: {_q('Fix' + crlf_bcc)}")
    add("subject-double-encoded", subject=_b64(f"[PATCH] x86/virt/tdx: {_q('Fix' + crlf_bcc)}"))
    add("subject-double-encoded-body", subject=_b64(f"[PATCH] x86/virt/tdx: {_q('Fix' + body_break)}"))
    add("subject-line-separator", subject=f"[PATCH] x86/virt/tdx: {_q('Fix' + chr(0x2028) + 'Bcc: victim@' + EVIL)}")
    add("subject-vertical-tab", subject=f"[PATCH] x86/virt/tdx: {_q('Fix' + chr(11) + 'Bcc: victim@' + EVIL)}")
    add("subject-nul", subject="[PATCH] x86/virt/tdx: Fix\0Bcc: victim@" + EVIL)
    add("subject-bare-cr", subject="[PATCH] x86/virt/tdx: Fix\rBcc: victim@" + EVIL)
    add("subject-escape-sequences", subject="[PATCH] x86/virt/tdx: \x1b]0;owned\x07\x1b[2J\x1b[31mRed")
    add("subject-encoded-escapes", subject=f"[PATCH] x86/virt/tdx: {_q(chr(0x1b) + '[2J' + chr(0x9b) + '31m')}")
    add("subject-overlong", subject="[PATCH] x86/virt/tdx: " + "long " * 40000)
    add("subject-folded", subject=f"[PATCH] x86/virt/tdx: Folded\n Bcc: victim@{EVIL}")
    add("subject-two-headers", f"Subject: [PATCH] x86/virt/tdx: Second subject {_q(crlf_bcc)}")
    add("subject-bogus-charset", subject=f"[PATCH] x86/virt/tdx: =?x-bogus?q?Fix=0D=0ABcc:_victim@{EVIL}?=")
    add("subject-bidi", subject="[PATCH] x86/virt/tdx: Fix \u202egnp.exe")
    # Addresses
    add("from-encoded-address-in-name", f"From: {_q(f'Evil <victim@{EVIL}>,')} <{AUTHOR}>")
    add("from-double-encoded-name", f"From: {_b64(_q('Eve' + crlf_bcc))} <{AUTHOR}>")
    add("from-quoted-encoded-name", f"From: \"{_q(f'Evil <victim@{EVIL}>')}\" <{AUTHOR}>")
    add("from-encoded-addr-spec", f"From: {_q(f'victim@{EVIL}')}")
    add("from-two-headers", f"From: Eve <{AUTHOR}>", f"From: Victim <victim@{EVIL}>")
    add("from-control-name", f"From: \"Eve\x1b[31m\x07\" <{AUTHOR}>")
    add("to-encoded-name-crlf", f"To: {_q('List' + crlf_bcc)} <{LIST}>")
    add("cc-encoded-list", f"Cc: {_q(f'victim@{EVIL}, victim2@{EVIL}')}")
    add("reply-to-encoded", f"Reply-To: {_q(f'victim@{EVIL}')} <{AUTHOR}>")
    add("cc-5000", "Cc: " + ", ".join(f"person{i}@example.org" for i in range(5000)))
    add("reply-to-5000", "Reply-To: " + ", ".join(f"person{i}@example.org" for i in range(5000)))
    add("cc-non-ascii", "Cc: caf\u00e9@example.org, Carol <carol@example.org>")
    add("cc-group", "Cc: friends: Carol <carol@example.org>;")
    add("date-encoded-crlf", f"Date: {_q('Mon' + chr(13) + chr(10) + MARKER + ' date')}")
    # Other headers and structure
    add("header-nul", "X-Note: a\0b")
    add("header-overlong", "X-Junk: " + "j" * (1 << 20))
    add("headers-10000", *[f"X-Junk-{i}: {i}" for i in range(10000)])
    add("bcc-in-patch", f"Bcc: victim@{EVIL}")
    # Loop protection and sender rules (these must still get their reply)
    add("auto-submitted-no-comment", "Auto-Submitted: no (a person wrote this)")
    add("own-address-as-substring", "From: My Bot <mytdxbot@example.org>")
    add("noreply-in-name", "From: Noreplyson <noreplyson@example.org>")
    # Numbers and nesting
    add("version-5000-digits", subject=f"[PATCH v{'9' * 5000}] x86/virt/tdx: Huge version")
    add("counter-10-million", subject="[PATCH 1/10000000] x86/virt/tdx: Huge counter")
    add("counter-5000-digits", subject=f"[PATCH 1/{'9' * 5000}] x86/virt/tdx: Huge counter")
    deep = 2000
    mime = ["MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=b0"]
    parts = "".join(f"--b{i - 1}\nContent-Type: multipart/mixed; boundary=b{i}\n\n" for i in range(1, deep))
    parts += f"--b{deep - 1}\nContent-Type: text/plain\n\nDeep.\n" + "".join(f"--b{i}--\n" for i in reversed(range(deep)))
    add("mime-2000-deep", *mime, body=parts)
    add("charset-utf-7", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-7")
    return cases


# The kinds above that must still be answered, to the author.
ANSWERED = ("auto-submitted-no-comment", "own-address-as-substring", "noreply-in-name")
