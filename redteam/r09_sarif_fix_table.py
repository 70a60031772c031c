"""R09: `review --format sarif` (and `check --format sarif`, the CI path):
output/sarif.py _result() builds a table of every added line of the patch
for each finding that has a fix (and scans the patches for each finding).
F small files of D '#define TDX_E_I 0x8...' lines without ULL
(tdx-errno-define offers a ULL fix on each; small files keep the rule
itself cheap) cost (F*D)^2 after the rules are done; nothing times the
output stage. JSON of the same review is the control."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

def build(files: int, per: int) -> bytes:
    parts = []
    k = 0
    for f in range(files):
        lines = []
        for i in range(per):
            lines.append(f"#define TDX_E_{k}\t0x{0x8000020000000000 + (k << 32) & 0xFFFFFFFFFFFFFFFF:016X}")
            k += 1
        parts.append(diff(f"arch/x86/virt/vmx/tdx/e{f}.h", lines, (), (), start=1).replace("@@ -1,0", "@@ -0,0"))
    return mail("[PATCH] x86/virt/tdx: Add codes", "r09@example.org", patch_body("Add codes.", "\n".join(parts))).encode()

if __name__ == "__main__":
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    path = write(f"r09-{files}x{per}.eml", build(files, per))
    for fmt in ("json", "sarif"):
        res = run(TDXBOT + ["review", path, "--format", fmt, "--select", "tdx-errno-define"], cap=900)
        report(f"r09-{fmt}-{files}x{per} ({os.path.getsize(path)} bytes)", res[:3] + (res[3][:200], res[4]))
