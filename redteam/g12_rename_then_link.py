"""G12: commit A adds foo() with a fixable bug to tdx.c; commit B renames
tdx.c to moved.c and puts at tdx.c a symlink to a tdx.c outside the
repository holding the same text. `check A^! --fix` follows A's lines to
HEAD. Expected: the fix goes to moved.c (or is refused with a reason);
the file outside is never written; tdx.c stays a symlink."""
import hashlib, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from gitrepo import Repo, TDX_DIR
from lib import OUT

BAD = "u64 foo(void)\n{\n\tu64 ret = seamcall(TDH_SYS_X, &args);\n\n\tif (ret & TDX_SW_ERROR)\n\t\treturn ret;\n\treturn 0;\n}\n"
head = "// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n\n"
r = Repo("g12")
r.write(f"{TDX_DIR}/tdx.c", head)
r.commit("x86/virt/tdx: Base")
r.write(f"{TDX_DIR}/tdx.c", head + BAD)
a = r.commit("x86/virt/tdx: Add foo()")
outside = os.path.join(OUT, "g12-outside")
os.makedirs(outside, exist_ok=True)
open(os.path.join(outside, "tdx.c"), "w").write(head + BAD)
before = hashlib.sha256(open(os.path.join(outside, "tdx.c"), "rb").read()).hexdigest()
r.git("mv", f"{TDX_DIR}/tdx.c", f"{TDX_DIR}/moved.c")
os.symlink(os.path.join(outside, "tdx.c"), os.path.join(r.path, TDX_DIR, "tdx.c"))
r.commit("x86/virt/tdx: Move tdx.c")
res = r.check(f"{a}^!", "--fix", "--select", "tdx-sw-error-mask")
print("rc", res[2]); print(res[3].decode()[-800:]); print(res[4].decode()[-400:])
after = hashlib.sha256(open(os.path.join(outside, "tdx.c"), "rb").read()).hexdigest()
moved_fixed = "== TDX_SW_ERROR)" in open(os.path.join(r.path, TDX_DIR, "moved.c")).read()
link = os.path.islink(os.path.join(r.path, TDX_DIR, "tdx.c"))
print("outside unchanged:", before == after, "| moved.c fixed:", moved_fixed, "| tdx.c still a link:", link)
print("VERDICT:", "held" if before == after and link and "internal error" not in res[4].decode() else "BROKE")
