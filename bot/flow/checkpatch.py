"""Run the tree's own scripts/checkpatch.pl on each patch and fold its
findings into the report as rule `checkpatch/<TYPE>`."""
from __future__ import annotations

import os
import re

from ..lint import Finding
from ..mail import Patch, Series

_LINE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<level>ERROR|WARNING|CHECK):"
                   r"(?P<type>[A-Z0-9_]+): (?P<msg>.*)$")
_LEVEL = {"ERROR": "error", "WARNING": "warning", "CHECK": "info"}
# checkpatch types that say what one of our rules says; at the same place
# only our finding (with its reviewer comment) is kept.
_SAME_AS = {"BLOCK_COMMENT_STYLE": "comment-block-style", "C99_COMMENTS": "comment-tail"}


def checkpatch_path(root: str) -> str | None:
    path = os.path.join(root, "scripts", "checkpatch.pl")
    return path if os.path.isfile(path) else None


def run_checkpatch(script: str, root: str, patch: Patch, mail: bytes, timeout: float = 120) -> list[Finding]:
    """checkpatch's findings for one patch mail (empty when it cannot run)."""
    import subprocess

    try:
        proc = subprocess.run(["perl", script, "-q", "--terse", "--no-summary", "--show-types",
                               "--showfile", "-"], input=mail, capture_output=True, cwd=root,
                              timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return []
    out = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        on_code = m.group("path") != "-"
        out.append(Finding(
            rule=f"checkpatch/{m.group('type')}",
            severity=_LEVEL[m.group("level")],
            message=m.group("msg") if on_code else f"{m.group('msg')} (patch line {m.group('line')})",
            patch_index=patch.index,
            message_id=patch.message_id,
            path=m.group("path") if on_code else None,
            line=int(m.group("line")) if on_code else None,
        ))
    return out


def merge(ours: list[Finding], theirs: list[Finding]) -> list[Finding]:
    """checkpatch findings added to ours, without repeats."""
    seen = {(f.patch_index, f.path, f.line, f.rule) for f in ours}
    kept, keys = [], set()
    for f in theirs:
        typ = f.rule.split("/", 1)[1]
        same = _SAME_AS.get(typ)
        if same and (f.patch_index, f.path, f.line, same) in seen:
            continue
        key = (f.patch_index, f.path, f.line, f.rule, f.message)
        if key not in keys:
            keys.add(key)
            kept.append(f)
    return ours + kept


def checkpatch_findings(series: Series, mails: dict[int, bytes], root: str) -> list[Finding]:
    script = checkpatch_path(root)
    if script is None:
        return []
    found = []
    for patch in series.patches:
        if patch.index in mails:
            found.extend(run_checkpatch(script, root, patch, mails[patch.index]))
    return found
