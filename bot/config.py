"""Settings from git config, the way b4 keeps its own ([tdxbot] section).

    [tdxbot]
        from = Jane Reviewer <jane@example.org>
        lore-url = https://lore.kernel.org/all
        ignore = comment-tail
    [tdxbot "severity"]
        comment-tail = info
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from email.utils import parseaddr

from bot.model import Address


@dataclass(frozen=True)
class Settings:
    values: dict[str, list[str]] = field(default_factory=dict)

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

    def ignored(self) -> set[str]:
        out = set()
        for value in self.get_all("tdxbot.ignore"):
            out.update(v.strip() for v in value.replace(",", " ").split() if v.strip())
        return out


def read_git_config(cwd: str | None = None) -> Settings:
    """tdxbot.* and user.* from git config; empty when git is unavailable."""
    try:
        proc = subprocess.run(
            ["git", "config", "--null", "--get-regexp", r"^(tdxbot|user)\."],
            cwd=cwd, capture_output=True, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return Settings()
    values: dict[str, list[str]] = {}
    for entry in proc.stdout.decode("utf-8", "replace").split("\0"):
        if not entry:
            continue
        key, _, value = entry.partition("\n")
        values.setdefault(key.lower(), []).append(value)
    return Settings(values)


def parse_address(text: str) -> Address | None:
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
