"""R03..R07: single small patches that drive one rule into RULE_SECONDS.
  r03 tdx-error-ignored     N x 'err = seamcall(...);' in one function:
                            facts/c.py reads() walks every later write of
                            'err' (writes are skipped, not counted against
                            _MAX_READS) for each assignment: N^2.
  r04 tdx-status-truncated  N 'u64 eI;' then N 'eI = seamcall(...)':
                            c.py _type_declared_in() re-finds and sorts every
                            declaration of the function per variable: N^2.
  r05 tdx-errno-define      N '#define TDX_E_I 0x8...' without ULL: each fix
                            runs kit._point(), which counts newlines from the
                            file's start: N x file size.
  r06 changelog-log-mismatch N pr_err() formats x M quoted changelog lines,
                            _resembles() re-derives each format's words per pair.
usage: r03_quadratic_rules.py KIND N"""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

def build(kind: str, n: int) -> bytes:
    chl = "Add it."
    if kind == "r03":
        lines = ["static int f(void)", "{", "\tu64 err;"] + ["\terr = seamcall(TDH_SYS_LP_INIT, &args);"] * n + ["\treturn 0;", "}"]
    elif kind == "r04":
        lines = ["static int f(void)", "{"] + [f"\tu32 e{i};" for i in range(n)] + \
                [f"\te{i} = seamcall(TDH_SYS_LP_INIT, &args);" for i in range(n)] + ["\treturn 0;", "}"]
    elif kind == "r05":
        lines = [f"#define TDX_E_{i}\t0x{0x8000020000000000 + (i << 32) & 0xFFFFFFFFFFFFFFFF:016X}" for i in range(n)]
        return mail("[PATCH] x86/tdx: Add codes", f"{kind}@example.org",
                    patch_body(chl, diff("arch/x86/include/asm/shared/tdx_errno.h", lines))).encode()
    elif kind == "r06":
        lines = ["static void f(void)", "{"] + [f'\tpr_err("TDX module word{i} failed at stage {i}: %d\\n", ret);' for i in range(n)] + ["}"]
        chl = "Log it.\n\nThe log shows:\n\n" + "\n".join(f"  virt/tdx: TDX module word{i} failed stage {i} at" for i in range(n))
    return mail("[PATCH] x86/virt/tdx: Add it", f"{kind}@example.org", patch_body(chl, diff(TDX_C, lines))).encode()

if __name__ == "__main__":
    kind, n = sys.argv[1], int(sys.argv[2])
    path = write(f"{kind}-{n}.eml", build(kind, n))
    res = run(TDXBOT + ["review", path, "--format", "json"], cap=900)
    import json
    try:
        f = json.loads(res[3])["findings"]
        oot = [x["message"] for x in f if x["rule"] in ("out-of-time", "too-large-to-review")]
    except Exception as e:
        oot = repr(e)
    report(f"{kind}-{n} ({os.path.getsize(path)} bytes)", res[:3] + (b"", res[4]), note=f"notes: {oot}")
