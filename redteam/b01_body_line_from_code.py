"""B01: can text from the patch reach a reply's body as a line of its own
(not quoted with '> ', not inside a comment's own text)? A finding's
comment that carries code is split on newlines before it is made
printable (drafts.wrap), so a newline that reaches a message starts a new
body line. Here the code holds a string literal continued with
backslash-newline (valid C), whose second line is a forged trailer and a
forged instruction; the changelog quotes a log line close to the format
so changelog-log-mismatch quotes the format in its comment. Also tried:
the same through other rules that quote code (macro continuation).
Expected: no body line of the draft starts with the attacker's text."""
import email, os, sys, glob, shutil
from email import policy
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

MARK = "Reviewed-by: Ingo Molnar <mingo@kernel.org>"
code = ["static void f(u64 ret)", "{",
        '\tpr_err("TDX module failed at stage one: %d \\',
        MARK + ' and more text\\n", ret);',
        "}",
        "#define TDX_X_BUSY \\",
        MARK + " 0x8000020000000000",
        ]
chl = ("Log it.\n\nThe log shows:\n\n  virt/tdx: TDX module returned at stage one: 5 " + MARK + " and more text\n")
m = mail("[PATCH] x86/virt/tdx: Log the stage", "b01@example.org", patch_body(chl, diff(TDX_C, code)))
path = write("b01.eml", m)
drafts = os.path.join(OUT, "b01-drafts")
shutil.rmtree(drafts, ignore_errors=True)
res = run(TDXBOT + ["review", path, "--drafts", drafts, "--from", "Bot <bot@example.org>"])
print(res[3].decode()[-2000:]); print(res[4].decode()[-500:])
bad = []
for f in glob.glob(drafts + "/*.eml"):
    msg = email.message_from_bytes(open(f, "rb").read(), policy=policy.default)
    body = msg.get_content()
    print("----", f); print(body)
    for ln in body.split("\n"):
        if ln.startswith("Reviewed-by") or ln.lstrip().startswith(MARK):
            bad.append(ln)
print("VERDICT:", "BROKE " + repr(bad) if bad else "held")
