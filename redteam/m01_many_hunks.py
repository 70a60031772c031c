"""M01: a patch at the bounds in shapes the 20 MB test does not take:
39,000 one-line hunks in one TDX file, and 1,900 TDX files of 21 lines.
Measures time and peak memory of `review --format json` (and --drafts).
Expected: under 10 s and 500 MB each (bench/pathological.py's bar)."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

kind = sys.argv[1] if len(sys.argv) > 1 else "hunks"
if kind == "hunks":
    n = 39000
    parts = [f"diff --git a/{TDX_C} b/{TDX_C}", "index 1111111..2222222 100644", f"--- a/{TDX_C}", f"+++ b/{TDX_C}"]
    for i in range(n):
        parts += [f"@@ -{3 * i + 1},1 +{4 * i + 1},2 @@", " ctx", "+\tif (ret & TDX_SW_ERROR)"]
    d = "\n".join(parts)
else:
    n = 1900  # 21 added lines each: 39,900, under MAX_ADDED_LINES
    ds = []
    for i in range(n):
        p = f"arch/x86/virt/vmx/tdx/f{i}.c"
        ds.append(diff(p, ["static int f(void)", "{", "\tu64 ret = seamcall(TDH_SYS_X, &args);",
                           "\tif (ret & TDX_SW_ERROR)", "\t\treturn ret;", "\treturn 0;", "}"] * 3))
    d = "\n".join(ds)
m = mail("[PATCH] x86/virt/tdx: Many", f"m01-{kind}@example.org", patch_body("Many.", d))
path = write(f"m01-{kind}.eml", m)
res = run(TDXBOT + ["review", path, "--format", "json"], cap=300)
import json
try:
    j = json.loads(res[3]); nf = len(j["findings"]); notes = [f["message"][:80] for f in j["findings"] if f["severity"] == "info"][:3]
except Exception as e:
    nf, notes = repr(e), []
report(f"m01-{kind} ({os.path.getsize(path)} bytes)", res[:3] + (b"", res[4]), note=f"{nf} findings {notes}")
drafts = os.path.join(OUT, f"m01-{kind}-drafts")
import shutil; shutil.rmtree(drafts, ignore_errors=True)
res = run(TDXBOT + ["review", path, "--drafts", drafts, "--from", "B <b@example.org>"], cap=300)
report(f"m01-{kind}-drafts", res[:3] + (b"", res[4]))
