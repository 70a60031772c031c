"""R08: one ~500 KB patch whose files each drive a different rule to just
under RULE_SECONDS (shapes of r03..r06 side by side, each in its own file).
No rule runs out of time, so there is no note and the responder does not
skip it; the review costs the sum."""
import os, sys, re
sys.path.insert(0, os.path.dirname(__file__))
from lib import *
from r03_quadratic_rules import build as one

def body_of(raw: bytes) -> tuple[str, str]:
    text = raw.decode()
    body = text.split("\n\n", 1)[1]
    chl, rest = body.split("\n---\n", 1)
    return chl, rest.rsplit("\n-- \n", 1)[0]

def build(n3=2200, n4=2600, n5=30000, n6=1100) -> bytes:
    parts, chl = [], "Add it."
    for kind, n, path in (("r03", n3, "arch/x86/virt/vmx/tdx/a.c"), ("r04", n4, "arch/x86/virt/vmx/tdx/b.c"),
                          ("r05", n5, None), ("r06", n6, "arch/x86/virt/vmx/tdx/d.c")):
        c, d = body_of(one(kind, n))
        if path:
            d = d.replace(TDX_C, path)
        if kind == "r06":
            chl = c.replace("\n\nSigned-off-by: Eve Example <eve@example.org>", "")
        parts.append(d)
    return mail("[PATCH] x86/virt/tdx: Add it", "r08@example.org", patch_body(chl, "\n".join(parts))).encode()

if __name__ == "__main__":
    path = write("r08.eml", build(*map(int, sys.argv[1:])))
    res = run(TDXBOT + ["review", path, "--format", "json"], cap=900)
    import json
    try:
        f = json.loads(res[3])["findings"]
        oot = [x["message"] for x in f if x["rule"] in ("out-of-time", "too-large-to-review")]
    except Exception as e:
        oot = repr(e)
    report(f"r08 ({os.path.getsize(path)} bytes)", res[:3] + (b"", res[4]), note=f"notes: {oot}")
