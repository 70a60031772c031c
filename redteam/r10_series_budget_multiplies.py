"""R10: the 10 s budget is per rule and per patch, so one posted series
multiplies it. Each patch here carries the r03 (tdx-error-ignored), r04
(tdx-status-truncated) and r06 (changelog-log-mismatch) inputs at once,
under every size bound (~470 KB a patch). With N patches one mail thread
costs about N x 3 x 10 s of the responder's single loop, and no other
series is decided meanwhile. Expected (issue 22: "no stall past the
budget", "skips a series that exceeds its budget"): a bound for the series.
usage: r10_series_budget_multiplies.py N"""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
K = 3000
r03 = ["static int f(void)", "{", "\tu64 err;"] + ["\terr = seamcall(TDH_SYS_LP_INIT, &args);"] * K + ["\treturn 0;", "}"]
r04 = ["static int g(void)", "{"] + [f"\tu32 e{i};" for i in range(K)] + \
      [f"\te{i} = seamcall(TDH_SYS_LP_INIT, &args);" for i in range(K)] + ["\treturn 0;", "}"]
r06 = ["static void h(void)", "{"] + [f'\tpr_err("TDX module word{i} failed at stage {i}: %d\\n", ret);' for i in range(1500)] + ["}"]
chl = "Log it.\n\nThe log shows:\n\n" + "\n".join(f"  virt/tdx: TDX module word{i} failed stage {i} at" for i in range(1500))
mails = [mail(f"[PATCH 0/{n}] x86/virt/tdx: Slow", "r10-0@example.org", "Cover.")]
for i in range(1, n + 1):
    mails.append(mail(f"[PATCH {i}/{n}] x86/virt/tdx: Part {i}", f"r10-{i}@example.org",
                      patch_body(chl, diff(TDX_C, r03 + r04 + r06)),
                      extra="In-Reply-To: <r10-0@example.org>\nReferences: <r10-0@example.org>"))
path = write(f"r10-{n}.mbox", mbox(*mails))
res = run(TDXBOT + ["review", path, "--format", "json"], cap=1800)
import json
try:
    f = json.loads(res[3])["findings"]
    oot = [x["message"][:60] for x in f if x["rule"] in ("out-of-time", "too-large-to-review")]
except Exception as e:
    oot = repr(e)
report(f"r10-{n} patches ({os.path.getsize(path)} bytes)", res[:3] + (b"", res[4]), note=f"{len(oot)} notes: {oot[:4]}")
