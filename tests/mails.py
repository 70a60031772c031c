"""Build small patch mails and threads for tests."""
from __future__ import annotations


def patch_mail(subject: str, msgid: str, *, in_reply_to: str | None = None,
               changelog: str = "Do the thing.", code: str = "int x;",
               path: str = "arch/x86/virt/vmx/tdx/tdx.c", author: str = "Alice Example <alice@example.org>",
               date: str = "Mon, 14 Sep 2026 09:00:00 +0200", diff: str | None = None,
               extra_headers: str = "") -> str:
    code_lines = code.split("\n")
    if diff is None:
        diff = "\n".join([
            f"diff --git a/{path} b/{path}",
            "index 1111111..2222222 100644",
            f"--- a/{path}",
            f"+++ b/{path}",
            f"@@ -10,2 +10,{2 + len(code_lines)} @@",
            " context one",
        ] + ["+" + c for c in code_lines] + [" context two"])
    head = [f"From: {author}", "To: linux-kernel@vger.kernel.org", f"Date: {date}",
            f"Subject: {subject}", f"Message-ID: <{msgid}>"]
    if in_reply_to:
        head += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    if extra_headers:
        head.append(extra_headers)
    body = f"{changelog}\n\nSigned-off-by: {author}\n---\n{diff}\n-- \n2.53.0\n"
    return "\n".join(head) + "\n\n" + body


def plain_mail(subject: str, msgid: str, body: str, in_reply_to: str | None = None,
               author: str = "Bob Reviewer <bob@example.org>") -> str:
    head = [f"From: {author}", "To: linux-kernel@vger.kernel.org",
            "Date: Tue, 15 Sep 2026 10:00:00 +0200", f"Subject: {subject}", f"Message-ID: <{msgid}>"]
    if in_reply_to:
        head += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    return "\n".join(head) + "\n\n" + body + "\n"


def mbox(*mails: str) -> bytes:
    return "".join(f"From nobody Mon Sep 14 09:00:00 2026\n{m}\n" for m in mails).encode()
