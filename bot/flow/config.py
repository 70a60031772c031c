"""Settings from git config, the way b4 keeps its own ([tdxbot] section).

    [tdxbot]
        from = Jane Reviewer <jane@example.org>
        lore-url = https://lore.kernel.org/all
        ignore = comment-tail
        scope = tdx            # or all: which patches b4-check and check review
        help-url = https://example.org/tdxbot/rules.md   # SARIF's rule links
    [tdxbot "severity"]
        comment-tail = info
"""
from __future__ import annotations

import os

from ..mail import Address

# What b4-check, b4-review-check and check review: only patches in the TDX
# scope (areas.TDX_SCOPE or a subject naming TDX), or every patch.
SCOPES = ("tdx", "all")


class Settings:
    def __init__(self, values: dict[str, list[str]] | None = None):
        self.values = values or {}

    def get(self, key: str) -> str | None:
        got = self.values.get(key.lower())
        return got[-1] if got else None

    def get_all(self, key: str) -> list[str]:
        return list(self.values.get(key.lower(), []))

    def severities(self) -> dict[str, str]:
        out = {}
        for key, vals in self.values.items():
            if key.startswith("tdxbot.severity."):
                out[key[len("tdxbot.severity."):]] = vals[-1].strip().lower()
        return out

    def scope(self) -> tuple[str, str | None]:
        """(scope, complaint): "tdx" (the default) or "all", and a warning
        to print when the configured value is neither."""
        value = (self.get("tdxbot.scope") or "tdx").strip().lower()
        if value in SCOPES:
            return value, None
        return "tdx", (f"git config tdxbot.scope: {value!r} is not one of {', '.join(SCOPES)}; "
                       "using tdx")

    def ignored(self) -> set[str]:
        out = set()
        for value in self.get_all("tdxbot.ignore"):
            out.update(v.strip() for v in value.replace(",", " ").split() if v.strip())
        return out


def read_git_config(cwd: str | None = None) -> Settings:
    """tdxbot.*, b4.* and user.* from git config; empty when git is unavailable."""
    out = _capture(["git", "config", "--null", "--get-regexp", r"^(tdxbot|user|b4|sendemail)\."], cwd)
    values: dict[str, list[str]] = {}
    for entry in out.decode("utf-8", "replace").split("\0"):
        if not entry:
            continue
        key, _, value = entry.partition("\n")
        values.setdefault(key.lower(), []).append(value)
    return Settings(values)


def _capture(argv: list[str], cwd: str | None) -> bytes:
    """Run a short command and return its stdout ('' on any failure).
    posix_spawn rather than subprocess: subprocess's import alone costs the
    per-patch b4 check more than running git does."""
    if cwd is not None:
        argv = [argv[0], "-C", cwd] + argv[1:]
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return b""
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, write_end, 1),
            (os.POSIX_SPAWN_CLOSE, read_end),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        ])
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return b""
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as fh:
        while chunk := fh.read(65536):
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else b""


def parse_address(text: str) -> Address | None:
    from email.utils import parseaddr

    name, email = parseaddr(text)
    if not email or "@" not in email:
        return None
    return Address(name, email)


def sender_address(settings: Settings, override: str | None = None) -> Address | None:
    for candidate in (override, settings.get("tdxbot.from")):
        if candidate:
            return parse_address(candidate)
    email = settings.get("user.email")
    if email and "@" in email:
        return Address(settings.get("user.name") or "", email)
    return None
