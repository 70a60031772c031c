"""A real public-inbox v2 inbox (public-inbox-init / -mda) and `tdxbot watch
--once --drafts` against it, for the watch attacks. Everything stays on
the local disk and 127.0.0.1."""
from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
from email import policy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from pi_server import Inbox  # noqa: E402

from lib import OUT, TDXBOT, run  # noqa: E402

SENDER = "TDX Bot <tdxbot@example.org>"


class Box:
    def __init__(self, name: str):
        self.root = os.path.join(OUT, "pi-" + name)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        self.inbox = Inbox(os.path.join(self.root, "pi"))
        self.inbox.init()
        self.home = os.path.join(self.root, "home")
        os.makedirs(self.home)
        self.maildir = os.path.join(self.root, "drafts")

    def deliver(self, raw: bytes | str) -> None:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        self.inbox.deliver(raw)

    def env(self) -> dict:
        env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "cfg"),
                   XDG_CACHE_HOME=os.path.join(self.home, "cache"), GIT_CONFIG_NOSYSTEM="1")
        env.pop("TDXBOT_DEBUG", None)
        return env

    def watch(self, *extra: str, first: bool = False, cap: float = 300):
        args = TDXBOT + ["watch", "--inbox", self.inbox.inbox_dir, "--state",
                         os.path.join(self.home, "state.sqlite3"), "--from", SENDER, "--settle", "0",
                         "--drafts", self.maildir, "--once", *extra]
        if first:
            args.append("--backlog")
        return run(args, env=self.env(), cwd=self.home, cap=cap)

    def status(self):
        return run(TDXBOT + ["watch", "--status", "--state", os.path.join(self.home, "state.sqlite3")],
                   env=self.env(), cwd=self.home)

    def drafts(self) -> list[tuple[str, email.message.EmailMessage]]:
        out = []
        for sub in ("new", "cur"):
            folder = os.path.join(self.maildir, sub)
            if os.path.isdir(folder):
                for f in sorted(os.listdir(folder)):
                    with open(os.path.join(folder, f), "rb") as fh:
                        out.append((f, email.message_from_bytes(fh.read(), policy=policy.default)))
        return out

    def summary(self) -> list[tuple[str, str]]:
        """(In-Reply-To, To) of every draft."""
        return [(str(m["In-Reply-To"]), str(m["To"])) for _, m in self.drafts()]
