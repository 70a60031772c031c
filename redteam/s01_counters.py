"""S01: counters and versions at and past the 4-digit bound, and odd ones:
[PATCH 9999/9999] alone (9,998 missing), [PATCH 0/0], [PATCH 3/2],
[PATCH v0], [PATCH v9999 1/1], [PATCH v99999999999 1/18446744073709551616],
[PATCH 1/0x10], full-width digits (１/２), Arabic-Indic digits, a
superscript. Expected: each reviewed or refused in one line, quickly,
no internal error, report size small."""
import os, sys, json
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

LOOP = ["static int shut(void)", "{", "\tu64 ret;", "", "\tdo {", "\t\tret = seamcall(TDH_SYS_SHUTDOWN, &args);",
        "\t} while (ret == TDX_SYS_SHUTDOWN_BUSY);", "\treturn 0;", "}"]
subs = ["[PATCH 9999/9999]", "[PATCH 0/0]", "[PATCH 3/2]", "[PATCH v0]", "[PATCH v9999 1/1]",
        "[PATCH v99999999999 1/18446744073709551616]", "[PATCH 1/0x10]", "[PATCH \uff11/\uff12]",
        "[PATCH \u0661/\u0662]", "[PATCH 1/\u00b2]", "[PATCH v-1 -1/2]", "[PATCH 00001/00002]"]
broke = []
for i, s in enumerate(subs):
    m = mail(f"{s} x86/virt/tdx: Shut down", f"s01-{i}@example.org", patch_body("Shut it.", diff(TDX_C, LOOP)))
    path = write(f"s01-{i}.eml", m)
    res = run(TDXBOT + ["review", path, "--format", "json"], cap=60)
    err = res[4].decode()
    size = len(res[3])
    try:
        j = json.loads(res[3]); info = (j["series"][0]["patches"][0]["index"], j["series"][0]["patches"][0]["total"],
                                         j["series"][0]["version"], len(j["series"][0]["missing"]))
    except Exception as e:
        info = repr(e)[:80]
    bad = res[2] is None or "internal error" in err or res[0] > 10 or size > 2_000_000
    print(f"{s:50} rc={res[2]} {res[0]:.2f}s out={size}B (index,total,version,missing)={info} {err.strip()[:100]}")
    if bad:
        broke.append(s)
print("VERDICT:", "BROKE " + repr(broke) if broke else "held")
