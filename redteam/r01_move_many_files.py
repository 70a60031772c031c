"""R01: tdx-move-and-change: 1999 files that each remove one #define, and
one TDX file that adds (almost) MAX_ADDED_LINES new #defines. For each added
definition _came_from_elsewhere() builds removed_defs.keys() - here and scans
every removed file: added lines x files."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

def build(files: int, added: int) -> bytes:
    parts = []
    for i in range(files - 1):
        p = f"drivers/x{i}/r.h"
        parts.append(f"diff --git a/{p} b/{p}\nindex 1111111..2222222 100644\n--- a/{p}\n+++ b/{p}\n"
                     f"@@ -1,1 +0,0 @@\n-#define OLD_NAME_{i} 1")
    p = "arch/x86/virt/vmx/tdx/tdx.h"
    body = "\n".join(f"+#define NEW_NAME_{i} {i}" for i in range(added))
    parts.append(f"diff --git a/{p} b/{p}\nindex 1111111..2222222 100644\n--- a/{p}\n+++ b/{p}\n"
                 f"@@ -1,0 +1,{added} @@\n{body}")
    m = mail("[PATCH] x86/virt/tdx: Move defines", "r01@example.org",
             patch_body("Move the defines.", "\n".join(parts)))
    return m.encode()

if __name__ == "__main__":
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    added = int(sys.argv[2]) if len(sys.argv) > 2 else 39_990
    path = write(f"r01-{files}-{added}.eml", build(files, added))
    print(path)
    res = run(TDXBOT + ["review", path], cap=600)
    report(f"r01-move-and-change-{files}x{added}", res)
