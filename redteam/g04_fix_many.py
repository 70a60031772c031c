"""G04: `check --diff` / `--fix` on one commit that adds F small TDX headers
of D status #defines without the ULL suffix (each gets tdx-errno-define's
ULL fix). plan_fixes() builds a table of every line of the patch (and
splits every whole file) for each finding with a fix, then runs
`git ls-files` and `git diff` once per file: (F*D)^2 work plus 2F git
processes. Plain `check` of the same commit is the control."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from gitrepo import Repo, TDX_DIR
from lib import report

files = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
per = int(sys.argv[2]) if len(sys.argv) > 2 else 30
r = Repo("g04")
r.write("README", "base\n")
base = r.commit("Base")
k = 0
for f in range(files):
    lines = []
    for i in range(per):
        lines.append(f"#define TDX_E_{k}\t0x{0x8000020000000000 + (k << 32) & 0xFFFFFFFFFFFFFFFF:016X}\n")
        k += 1
    r.write(f"{TDX_DIR}/e{f}.h", "".join(lines))
r.commit("x86/virt/tdx: Add status codes")
for mode in ([], ["--diff"]):
    res = r.check("HEAD^!", "--select", "tdx-errno-define", *mode, cap=900)
    report(f"g04-check{''.join(mode)}-{files}x{per}", res[:3] + (res[3][-300:], res[4][-300:]))
