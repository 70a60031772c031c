"""Run the tree's own scripts/checkpatch.pl on each patch and fold its
findings into the report as rule `checkpatch/<TYPE>`."""
from __future__ import annotations

import os
import re

from ..lint import Finding
from ..mail import Patch, Series

# Without --showfile every finding names the line of the mail it read
# ("-:LINE:"), commit message and diff alike; the place is worked out here.
_LINE = re.compile(r"^-:(?P<line>\d+): (?P<level>ERROR|WARNING|CHECK):(?P<type>[A-Z0-9_]+): (?P<msg>.*)$")
_LEVEL = {"ERROR": "error", "WARNING": "warning", "CHECK": "info"}
# checkpatch types that say what one of our rules says; at the same place
# only our finding (with its reviewer comment) is kept.
_SAME_AS = {"BLOCK_COMMENT_STYLE": "comment-block-style", "C99_COMMENTS": "comment-tail"}


def checkpatch_path(root: str) -> str | None:
    path = os.path.join(root, "scripts", "checkpatch.pl")
    return path if os.path.isfile(path) else None


def run_checkpatch(script: str, root: str, patch: Patch, mail: bytes,
                   timeout: float = 120) -> tuple[list[Finding], str | None]:
    """checkpatch's findings for one patch mail, and why it did not run
    (None when it did)."""
    import subprocess

    try:
        proc = subprocess.run(["perl", script, "-q", "--terse", "--no-summary", "--show-types", "-"],
                              input=mail, capture_output=True, cwd=root, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"it could not be started ({exc})"
    out = proc.stdout.decode("utf-8", "replace").splitlines()
    found = [m for line in out if (m := _LINE.match(line.strip()))]
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not found):
        said = (proc.stderr.decode("utf-8", "replace") + "\n" + "\n".join(out)).strip()
        return [], said.splitlines()[0] if said else f"it exited with status {proc.returncode}"
    place = _Places(patch, mail)
    return [place.finding(int(m.group("line")), m.group("type"), _LEVEL[m.group("level")], m.group("msg"))
            for m in found], None


class _Places:
    """Where a line of the mail checkpatch read is in the patch: the
    subject, a changelog line, a post-image line of a file, or the patch."""

    def __init__(self, patch: Patch, mail: bytes):
        self.patch = patch
        text = mail.decode("utf-8", "replace")
        head, _, _ = text.partition("\n\n")
        self.head_lines = head.count("\n") + 1
        self.mail_lines = text.split("\n")
        self.code = {ln.body_index: (d.path, ln.new_no) for d in patch.files for h in d.hunks
                     for ln in h.lines if ln.body_index is not None and ln.new_no is not None}

    def finding(self, line: int, typ: str, severity: str, message: str) -> Finding:
        patch = self.patch
        where: dict = {}
        text = self.mail_lines[line - 1] if 0 < line <= len(self.mail_lines) else None
        body = line - 1 - (self.head_lines + 1)  # index in the body: the header and its blank line first
        if body < 0:
            if text is not None and text.lower().startswith("subject:") or typ.startswith("EMAIL_SUBJECT"):
                where = {"on_subject": True}
                text = patch.subject
        elif body < patch.diff_body_start:
            index = body - patch.changelog_body_start
            if 0 <= index < len(patch.changelog_lines):
                where = {"changelog_line": index}
        elif body in self.code:
            path, new_no = self.code[body]
            where = {"path": path, "line": new_no}
            text = text[1:] if text else text
        return Finding(rule=f"checkpatch/{typ}", severity=severity, message=message,
                       patch_index=patch.index, message_id=patch.message_id,
                       source_text=text if where else None, **where)


def merge(ours: list[Finding], theirs: list[Finding]) -> list[Finding]:
    """checkpatch findings added to ours, without repeats."""
    seen = {(f.patch_index, f.path, f.line, f.rule) for f in ours}
    kept, keys = [], set()
    for f in theirs:
        typ = f.rule.split("/", 1)[1]
        same = _SAME_AS.get(typ)
        if same and (f.patch_index, f.path, f.line, same) in seen:
            continue
        key = (f.patch_index, f.path, f.line, f.changelog_line, f.on_subject, f.rule, f.message)
        if key not in keys:
            keys.add(key)
            kept.append(f)
    return ours + kept


def checkpatch_findings(series: Series, mails: dict[int, bytes], root: str) -> tuple[list[Finding], list[str]]:
    """checkpatch's findings on each patch, and notes on the patches it
    did not check, with its reason."""
    script = checkpatch_path(root)
    if script is None:
        return [], [f"checkpatch did not run: no scripts/checkpatch.pl in {root}"]
    found, notes = [], []
    for patch in series.patches:
        if patch.index in mails:
            findings, why = run_checkpatch(script, root, patch, mails[patch.index])
            found.extend(findings)
            if why is not None:
                notes.append(f"checkpatch did not check {patch.index}/{patch.total}: {why}")
    return found, notes
