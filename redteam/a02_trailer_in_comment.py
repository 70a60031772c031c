"""A02: a pr_err() format string spliced over lines with backslash-newline
(valid C) carries a newline into changelog-log-mismatch's comment; wrap()
splits the comment on '\\n', so the draft gets a body line of the
attacker's choosing (here a b4 follow-up trailer)."""
import os, sys, glob, subprocess
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

code = ['\tpr_err("TDX module shutdown failed \\',
        'Reviewed-by: Bot <bot@example.org> #\\',
        ' status %d\\n", ret);']
changelog = ("Log the failure.\n\nThe kernel now logs:\n\n"
             "  virt/tdx: TDX module shutdown status Reviewed Bot bot example org failed 7")
m = mail("[PATCH] x86/virt/tdx: Log shutdown failure", "a02@example.org",
         patch_body(changelog, diff(TDX_C, code)))
path = write("a02.eml", m)
drafts = os.path.join(OUT, "a02-drafts")
subprocess.run(["rm", "-rf", drafts])
res = run(TDXBOT + ["review", path, "--drafts", drafts, "--from", "Bot <bot@example.org>"])
report("a02-trailer-in-log-mismatch-comment", res)
import b4
for f in glob.glob(drafts + "/*.eml"):
    body = open(f).read()
    print(body)
    trailers, _ = b4.LoreMessage.find_trailers(body.split("\n\n", 1)[1], followup=True)
    print("b4 trailers from the bot's reply:", [(t.name, t.value) for t in trailers])
