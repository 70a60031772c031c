"""A real public-inbox v2 inbox served by public-inbox-httpd on 127.0.0.1.

The same software that runs lore: public-inbox-init makes the inbox,
public-inbox-mda delivers each message, public-inbox-httpd serves it on a
free loopback port.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

TOOLS = ("public-inbox-init", "public-inbox-mda", "public-inbox-httpd")


def require_public_inbox() -> None:
    """Skip without public-inbox, except under CI, where it must be there."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"public-inbox is not installed ({', '.join(missing)}); .ci/run installs it")
        pytest.skip(f"public-inbox is not installed ({', '.join(missing)})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self, root: str, name: str = "tdx"):
        self.root = root
        self.name = name
        self.address = f"{name}@lists.example.org"
        self.port = free_port()
        self.env = dict(os.environ, PI_CONFIG=os.path.join(root, "pi-config"),
                        PI_EMERGENCY=os.path.join(root, "emergency"), HOME=root)
        self.proc: subprocess.Popen | None = None
        self.inbox_dir = os.path.join(root, "inbox", name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.name}"

    def init(self) -> None:
        subprocess.run(["public-inbox-init", "-V2", "-j1", self.name, self.inbox_dir, self.url,
                        self.address], env=self.env, check=True, capture_output=True)
        subprocess.run(["git", "config", "-f", self.env["PI_CONFIG"], "publicinboxmda.spamcheck",
                        "none"], env=self.env, check=True)

    def copy(self, root: str) -> "Inbox":
        """A copy of this inbox (not serving) under root: the same archive,
        for a test to change, without delivering every message again."""
        shutil.copytree(self.root, root, symlinks=True,
                        ignore=shutil.ignore_patterns("httpd.log"))
        other = Inbox(root, self.name)
        for key, value in (("inboxdir", other.inbox_dir), ("url", other.url)):
            subprocess.run(["git", "config", "-f", other.env["PI_CONFIG"], f"publicinbox.{self.name}.{key}",
                            value], env=other.env, check=True)
        return other

    def deliver(self, raw: bytes) -> None:
        env = dict(self.env, ORIGINAL_RECIPIENT=self.address)
        proc = subprocess.run(["public-inbox-mda", "--no-precheck"], input=raw, env=env,
                              capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"public-inbox-mda failed: {proc.stderr.decode(errors='replace')}")

    def start(self) -> None:
        log = open(os.path.join(self.root, "httpd.log"), "wb")
        self.proc = subprocess.Popen(
            ["public-inbox-httpd", "-W0", "-l", f"http://127.0.0.1:{self.port}"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("public-inbox-httpd exited: " + open(log.name, errors="replace").read())
            try:
                with urllib.request.urlopen(f"{self.url}/_/text/help/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("public-inbox-httpd did not come up in 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None
