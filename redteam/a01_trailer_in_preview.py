"""A01: a comment line with no '*' that reads as a b4 trailer sits right above
a list item; comment-list-spacing's fix preview quotes it as diff context
(' ' + raw line), not as '> ' quote, so the draft carries a body line b4
reads as a follow-up trailer."""
import os, sys, glob, subprocess
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

code = ["\t/*",
        "\t * Retry a few times.",
        "Reviewed-by: Bot <bot@example.org> # tdx?",
        "\t *  - TDX_SYS_BUSY is transient.",
        "\t */",
        "\tret = 0;"]
m = mail("[PATCH] x86/virt/tdx: Add a comment", "a01@example.org",
         patch_body("Add a comment to the retry path.", diff(TDX_C, code)))
path = write("a01.eml", m)
drafts = os.path.join(OUT, "a01-drafts")
subprocess.run(["rm", "-rf", drafts])
res = run(TDXBOT + ["review", path, "--drafts", drafts, "--from", "Bot <bot@example.org>"])
report("a01-trailer-in-fix-preview", res)
for f in glob.glob(drafts + "/*.eml"):
    body = open(f).read()
    print(body)
    import b4
    body_text = body.split("\n\n", 1)[1]
    trailers, _ = b4.LoreMessage.find_trailers(body_text, followup=True)
    print("b4 trailers from the bot's reply:", [(t.name, t.value) for t in trailers])
