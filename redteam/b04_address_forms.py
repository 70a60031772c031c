"""B04: address headers in forms the hostile corpus does not use: a
comment holding an address, an obsolete source route, a group inside
Reply-To, a quoted local part holding '@', an address split over a folded
line, RFC 2231-style and encoded words in a comment, a display name
with U+2028/U+0085, a bidi override. Each patch mail has a finding so a
reply is drafted. Expected: the reply goes only to addresses the mail
names as mailboxes (never one that appears in a comment or display name),
and its headers carry no raw control or line separator."""
import email, glob, os, shutil, sys
from email import policy
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
EVIL = "victim@evil.example"
cases = {
    "from-comment": ("From", f"eve@example.org ({EVIL})"),
    "from-comment-angle": ("From", f"eve@example.org (Victim <{EVIL}>)"),
    "from-route": ("From", "Eve <@evil.example:eve@example.org>"),
    "replyto-group": ("Reply-To", f"team: eve@example.org, ({EVIL});"),
    "cc-quoted-local-at": ("Cc", f'"{EVIL}"@example.org'),
    "cc-name-is-address": ("Cc", f'"{EVIL}" <carol@example.org>'),
    "cc-folded": ("Cc", f"carol@example.org,\n {EVIL.split('@')[0]}\n @evil.example"),
    "from-name-ls": ("From", "=?utf-8?q?Eve=E2=80=A8Bcc=3A_victim=40evil=2Eexample?= <eve@example.org>"),
    "from-name-nel": ("From", "=?utf-8?q?Eve=C2=85Bcc=3A_victim=40evil=2Eexample?= <eve@example.org>"),
    "from-name-bidi": ("From", "=?utf-8?q?Eve_=E2=80=AEelpmaxe?= <eve@example.org>"),
    "cc-comment-encoded": ("Cc", f"carol@example.org (=?utf-8?q?{EVIL.replace('@', '=40')}?=)"),
    "to-angle-in-name": ("To", f"Carol <carol@example.org> <{EVIL}>"),
    "cc-two-at": ("Cc", f"carol@example.org@evil.example"),
    "cc-backslash": ("Cc", f"carol\\@evil.example@example.org"),
}
# Here the evil address is a mailbox the sender names (obsolete syntax
# allows white space around '@'; a second <addr> is a second mailbox): a
# reply to all goes there by design, as if the Cc said it plainly.
NAMED = {"cc-folded", "to-angle-in-name"}
broke = []
for name, (hdr, value) in cases.items():
    heads = {"From": "Eve Example <eve@example.org>", "To": "tdx@lists.example.org"}
    heads[hdr] = value
    raw = "\n".join([f"From: {heads.pop('From')}", f"To: {heads.pop('To')}"] + [f"{k}: {v}" for k, v in heads.items()] +
                    ["Date: Mon, 07 Dec 2026 05:00:00 +0000", "Subject: [PATCH] x86/virt/tdx: Shut down",
                     f"Message-ID: <b04-{name}@example.org>", "", patch_body("Shut it.", diff(TDX_C, LOOP))])
    path = write(f"b04-{name}.eml", raw)
    drafts = os.path.join(OUT, "b04-drafts")
    shutil.rmtree(drafts, ignore_errors=True)
    res = run(TDXBOT + ["review", path, "--drafts", drafts, "--from", "Bot <bot@example.org>"])
    files = glob.glob(drafts + "/*.eml")
    if not files:
        print(name, "no draft; rc", res[2], res[4].decode()[-200:].strip())
        continue
    data = open(files[0], "rb").read()
    head = data.split(b"\n\n", 1)[0]
    msg = email.message_from_bytes(data, policy=policy.default)
    rcpts = [a.addr_spec for h in ("To", "Cc") for a in (msg[h].addresses if msg[h] else ())]
    odd = [c for c in head.decode("utf-8", "replace") if ord(c) < 32 and c not in "\n\t" or c in "\u2028\u0085\u202e"]
    bad = (any("evil" in r for r in rcpts) and name not in NAMED) or odd
    print(f"{name:22} rcpts={rcpts} odd={odd!r}" + ("  <-- BROKE" if bad else ""))
    if bad:
        broke.append(name)
print("VERDICT:", "BROKE " + repr(broke) if broke else "held")
