"""Hostile and odd mails, built in code (a 20 MB patch does not belong in git)."""
from __future__ import annotations

import base64
import quopri

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
