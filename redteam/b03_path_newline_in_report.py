"""B03: a diff path written in git's C quoting ("a/x\\nERROR: y.c") is
unquoted into a name holding a newline (or U+2028). In the checkpatch
format, which b4's check contract reads line by line ("ERROR:" counts as a
failure), and in the text report, each finding starts with its path: a
newline there forges a line. Expected: no output line the sender chose."""
import json, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

BAD = ["static int f(void)", "{", "\tu64 ret = seamcall(TDH_SYS_X, &args);", "", "\tif (ret & TDX_SW_ERROR)",
       "\t\treturn ret;", "\treturn 0;", "}"]
broke = []
for label, q in (("LF", "\\n"), ("CR", "\\r"), ("LS", "\\342\\200\\250"), ("NEL", "\\302\\205")):
    p = f"arch/x86/virt/vmx/tdx/a{q}ERROR: forged by the sender.c"
    d = "\n".join([f'diff --git "a/{p}" "b/{p}"', "index 1111111..2222222 100644", f'--- "a/{p}"', f'+++ "b/{p}"',
                   f"@@ -10,2 +10,{2 + len(BAD)} @@", " context one"] + ["+" + x for x in BAD] + [" context two"])
    m = mail("[PATCH] x86/virt/tdx: Odd name", f"b03-{label}@example.org", patch_body("Add f.", d))
    path = write(f"b03-{label}.eml", m)
    for fmt in ("checkpatch", "text", "json", "sarif"):
        res = run(TDXBOT + ["review", path, "--format", fmt])
        out = res[3].decode("utf-8", "replace")
        lines = out.splitlines() if fmt in ("checkpatch", "text") else []
        forged = [l for l in lines if l.lstrip().startswith("ERROR: forged")]
        if fmt in ("json", "sarif"):
            try:
                json.loads(out)
            except Exception as e:
                forged = [f"bad json: {e}"]
        print(label, fmt, "rc", res[2], "forged:", forged[:2], res[4].decode()[-200:].strip())
        if forged:
            broke.append((label, fmt))
# b4 check contract: tdxbot as a b4 check command reads the patch on stdin
print("VERDICT:", "BROKE " + repr(broke) if broke else "held")
