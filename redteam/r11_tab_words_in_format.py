"""R11: changelog-log-mismatch matches a format's literal pieces in order;
a piece's words were split on spaces only, so a raw tab inside the string
literal was a word of its own, between two lazy '\\s*?' runs. A format
"TDX a <tab> <tab> ... b" (24 tabs, each between spaces) against a quoted
changelog line of 72 tabs split the run in exponentially many ways: the
rule ran into its 10 s budget on a 1 KB mail (and before the time budget
existed, for ever). Expected: no out-of-time note, well under a second."""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

k = 24
fmt = "TDX module stage " + "\t " * k + "failed %d\\n"
code = ["static void f(int ret)", "{", f'\tpr_err("{fmt}", ret);', "}"]
chl = ("Log it.\n\nThe log shows:\n\n  virt/tdx: TDX module stage" + "\t" * (3 * k) + "gone 5\n")
m = mail("[PATCH] x86/virt/tdx: Log the stage", "r11@example.org", patch_body(chl, diff(TDX_C, code)))
path = write("r11.eml", m)
res = run(TDXBOT + ["review", path, "--format", "json"], cap=120)
try:
    notes = [f["message"][:70] for f in json.loads(res[3])["findings"] if f["rule"] == "out-of-time"]
except Exception as e:
    notes = [repr(e)]
report(f"r11-tab-words ({os.path.getsize(path)} bytes)", res[:3] + (b"", res[4]), note=f"{notes}")
print("VERDICT:", "held" if not notes and res[0] < 5 else "BROKE")
