"""A scratch git repository for the `tdxbot check` attacks."""
from __future__ import annotations

import os
import shutil
import subprocess

from lib import OUT, TDXBOT, run

TDX_DIR = "arch/x86/virt/vmx/tdx"
SOB = "\n\nSigned-off-by: Eve Example <eve@example.org>"


class Repo:
    def __init__(self, name: str):
        self.path = os.path.join(OUT, "git-" + name)
        shutil.rmtree(self.path, ignore_errors=True)
        os.makedirs(self.path)
        self.home = os.path.join(OUT, "git-" + name + "-home")
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.home)
        self.env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Eve Example", GIT_AUTHOR_EMAIL="eve@example.org",
                        GIT_COMMITTER_NAME="Eve Example", GIT_COMMITTER_EMAIL="eve@example.org")
        self.env.pop("TDXBOT_DEBUG", None)
        self.git("init", "-q", "-b", "master")

    def git(self, *args, check=True, stdin: bytes | None = None) -> str:
        res = subprocess.run(["git", *args], cwd=self.path, env=self.env, capture_output=True, input=stdin)
        if check and res.returncode:
            raise RuntimeError(res.stderr.decode())
        return res.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, data, append: bool = False) -> None:
        path = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        with open(path, "ab" if append else "wb") as fh:
            fh.write(data)

    def commit(self, subject: str, body: str = "Do it.") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", subject + "\n\n" + body + SOB)
        return self.git("rev-parse", "HEAD")

    def check(self, *args: str, cap: float = 300):
        return run(TDXBOT + ["check", *args], cwd=self.path, env=self.env, cap=cap)
