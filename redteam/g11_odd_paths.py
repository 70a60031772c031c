"""G11: `check --fix` on a branch whose commits hold paths git can store but
that break naive readers: a file name with a newline, with a tab, with
U+2028, a leading '-', a name that is quoted by git ('"'), a submodule
(gitlink) under the TDX folder, and a rename through a symlinked folder.
Each carries the same fixable bug. Expected: each real file is fixed in
place (or refused with a reason), nothing outside the work tree changes,
no internal error; the gitlink is not read as a file."""
import os, sys, hashlib, subprocess
sys.path.insert(0, os.path.dirname(__file__))
from gitrepo import Repo, TDX_DIR
from lib import OUT

BAD = "u64 foo(void)\n{\n\tu64 ret = seamcall(TDH_SYS_X, &args);\n\n\tif (ret & TDX_SW_ERROR)\n\t\treturn ret;\n\treturn 0;\n}\n"
head = "// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n\n"
names = ["nl\nx.c", "tab\tx.c", "ls\u2028x.c", "-dash.c", 'quo"te.c', "sp ace.c", "bs\\x.c", "nel\x85x.c"]
outside = os.path.join(OUT, "g11-outside")
os.makedirs(outside, exist_ok=True)
with open(os.path.join(outside, "tdx.c"), "w") as fh:
    fh.write(head + BAD)

def digest(p):
    h = hashlib.sha256()
    for d, dn, fn in sorted(os.walk(p)):
        for f in sorted(fn):
            h.update(open(os.path.join(d, f), "rb").read())
    return h.hexdigest()

r = Repo("g11")
for n in names:
    r.write(f"{TDX_DIR}/{n}", head)
# a submodule: a gitlink entry under the TDX folder
sub = Repo("g11-sub")
sub.write("x.c", head + BAD)
subhead = sub.commit("sub")
subprocess.run(["git", "clone", "-q", sub.path, os.path.join(r.path, TDX_DIR, "module")], check=True, env=r.env)
base = r.commit("x86/virt/tdx: Base")
for n in names:
    r.write(f"{TDX_DIR}/{n}", head + BAD)
subprocess.run(["git", "-C", os.path.join(r.path, TDX_DIR, "module"), "commit", "-q", "--allow-empty", "-m", "more"], check=True, env=r.env)
a = r.commit("x86/virt/tdx: Add foo() everywhere")
before_out = digest(outside)
res = r.check(f"{base}..HEAD", "--fix", "--select", "tdx-sw-error-mask")
print("rc", res[2]); print(res[3].decode()[-3000:]); print(res[4].decode()[-800:])
fixed = []
for n in names:
    t = open(os.path.join(r.path, TDX_DIR, n)).read()
    fixed.append((n, "== TDX_SW_ERROR)" in t))
print("fixed per file:", fixed)
print("outside unchanged:", digest(outside) == before_out)
st = r.git("status", "--porcelain", "-z")
print("status:", st.replace("\0", " | ")[:800])
ok = all(f for _, f in fixed) and digest(outside) == before_out and b"internal error" not in res[4]
print("VERDICT:", "held" if ok else "BROKE / check above")
