"""G03: `check A^! --fix` places each edit 'at the same line when it is still
there' (fixgit._place/_find) by the text of the edit's own line, using the
line number at commit A, not the line's place in HEAD (which LinesAtHead
knows). A later commit B adds a function bar() above A's foo() so that
bar's identical line `if (ret & TDX_SW_ERROR)` lands on the very line number
foo's had at A. --fix rewrites bar's line (B's code, which the check
did not cover), leaves foo's bug as it is, and tells the user to
`git commit --fixup=A`."""
import os, sys, json
sys.path.insert(0, os.path.dirname(__file__))
from gitrepo import Repo, TDX_DIR

FOO = "u64 foo(void)\n{\n\tu64 ret = seamcall(TDH_SYS_X, &args);\n\n\tif (ret & TDX_SW_ERROR)\n\t\treturn ret;\n\treturn 0;\n}\n"
BAR = "/* bar() tests the class bit on purpose. */\nu64 bar(void)\n{\n\tu64 ret = seamcall(TDH_SYS_Y, &args);\n\n\tif (ret & TDX_SW_ERROR)\n\t\treturn ret;\n\treturn 1;\n}\n"
r = Repo("g03")
path = f"{TDX_DIR}/tdx.c"
head = "// SPDX-License-Identifier: GPL-2.0\n#include <asm/tdx.h>\n\n"
r.write(path, head)
r.commit("x86/virt/tdx: Base")
r.write(path, head + FOO)
a = r.commit("x86/virt/tdx: Add foo()")
# foo's bad line is line 3+5 = 8 at A. bar's bad line must be line 8 at HEAD:
# bar starts at line 3, its 'if' is bar's 6th line -> line 8.
r.write(path, head[:-1] + BAR + "\n" + FOO)
r.commit("x86/virt/tdx: Add bar()")
before = open(os.path.join(r.path, path)).read().split("\n")
print("HEAD before:", [(i + 1, l) for i, l in enumerate(before) if "TDX_SW_ERROR)" in l])
res = r.check(f"{a}^!", "--fix", "--select", "tdx-sw-error-mask")
print("rc", res[2]); print(res[3].decode()); print(res[4].decode())
after = open(os.path.join(r.path, path)).read().split("\n")
print("HEAD after:", [(i + 1, l) for i, l in enumerate(after) if "TDX_SW_ERROR" in l])
print(r.git("diff"))
