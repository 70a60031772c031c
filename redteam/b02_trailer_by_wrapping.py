"""B02: no newline needed. A reply comment that quotes patch text is
wrapped at 72 columns; padding the quoted text so the wrap falls right
before 'Reviewed-by:' puts a line of the sender's choosing at the start of
a body line of the bot's mail, where `b4 am`/`b4 trailers -u` read it as a
follow-up trailer given by the bot. Tries paddings 0..40 of the
changelog-log-mismatch format string; also runs A01's fix-preview case.
Expected: b4 finds no trailer in any draft."""
import glob, os, shutil, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
import b4

MARK = "Reviewed-by: Ingo Molnar <mingo@kernel.org>"
found = []
for pad in range(0, 41):
    word = "x" * pad
    fmt = f"TDX module {word} failed at stage one: %d {MARK} and more text\\n"
    code = ["static void f(u64 ret)", "{", f'\tpr_err("{fmt}", ret);', "}"]
    chl = f"Log it.\n\nThe log shows:\n\n  virt/tdx: TDX module {word} returned at stage one: 5 {MARK} and more text\n"
    m = mail("[PATCH] x86/virt/tdx: Log the stage", f"b02-{pad}@example.org", patch_body(chl, diff(TDX_C, code)))
    path = write(f"b02-{pad}.eml", m)
    drafts = os.path.join(OUT, f"b02-drafts")
    shutil.rmtree(drafts, ignore_errors=True)
    res = run(TDXBOT + ["review", path, "--drafts", drafts, "--from", "Bot <bot@example.org>"])
    for f in glob.glob(drafts + "/*.eml"):
        body = open(f).read().split("\n\n", 1)[1]
        trailers, _ = b4.LoreMessage.find_trailers(body, followup=True)
        if trailers:
            found.append((pad, [(t.name, t.value) for t in trailers]))
            print(body)
            break
    if found:
        break
print("found:", found)
print("VERDICT:", "BROKE" if found else "held")
