import http.server
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

# The resident b4-check worker (bot/resident.py) stays off unless a test
# turns it on: tests/test_resident.py does, with a runtime folder of its own.
os.environ["TDXBOT_B4_SERVER"] = "0"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEEDS = ROOT.parent / "shared" / "seeds"


def run_cli(*args, stdin: bytes | None = None, cwd=None, env=None, timeout: float = 120):
    """Run tdxbot as a separate process, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("TDXBOT_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "tdxbot", *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd or ROOT, env=full_env, timeout=timeout)


@contextmanager
def loopback_http(handler):
    """A threaded HTTP server for handler on a free 127.0.0.1 port, shut
    down when the block ends."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def git_tree(path: Path, env: dict, files: dict[str, str]):
    """A git work tree at path whose first commit, 'Initial tree' by Nadia
    Okafor, holds files (relative path -> text); returns git(*args)."""
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)

    def git(*args):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "master")
    git("config", "user.name", "Nadia Okafor")
    git("config", "user.email", "nadia@example.com")
    git("add", "-A")
    git("commit", "-qm", "Initial tree")
    return git


def b4_command() -> str:
    """The b4 installed beside this Python (CI's venv), else on PATH."""
    import shutil

    local = Path(sys.executable).parent / "b4"
    found = str(local) if local.exists() else shutil.which("b4")
    if not found:
        pytest.skip("b4 is not installed")
    return found


@pytest.fixture
def seeds():
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present")
    return SEEDS


@pytest.fixture(scope="session")
def lore(tmp_path_factory):
    """A real public-inbox serving the example series, a v1/v2 thread, a
    thread with no patch and a thread a human already reviewed."""
    from mails import patch_mail, plain_mail
    from pi_server import Inbox, require_public_inbox

    from tdxbot.mail.sources import split_mbox

    require_public_inbox()
    inbox = Inbox(str(tmp_path_factory.mktemp("pi")))
    inbox.init()
    example = split_mbox((FIXTURES / "example-series.mbox").read_bytes())
    threads = {"example": example}
    v1v2 = []
    for version in (1, 2):
        tag = f" v{version}" if version > 1 else ""
        cover = f"vv-v{version}-0@example.org"
        notes = "\n\nChanges in v2:\n- Stop retrying on TDX_OPERAND_BUSY." if version == 2 else ""
        v1v2.append(plain_mail(f"[PATCH{tag} 0/2] x86/virt/tdx: Add the thing", cover,
                               "Cover letter." + notes, author="Alice Example <alice@example.org>",
                               in_reply_to="vv-v1-0@example.org" if version == 2 else None))
        for i in (1, 2):
            code = "\tif (err == TDX_OPERAND_BUSY)\n\t\treturn -EBUSY;" if version == 1 else "\treturn 0;"
            v1v2.append(patch_mail(f"[PATCH{tag} {i}/2] x86/virt/tdx: Part {i}",
                                   f"vv-v{version}-{i}@example.org", in_reply_to=cover, code=code,
                                   changelog=f"Add part {i} of the thing."))
    threads["v1v2"] = [m.encode() for m in v1v2]
    threads["talk"] = [plain_mail("Question about TDX_SYS_BUSY", "talk-0@example.org",
                                  "Is TDX_SYS_BUSY documented anywhere?").encode()]
    patch = example[2].decode()
    quoted = "\n".join("> " + ln if ln else ">" for ln in patch.split("\n\n", 1)[1].split("\n"))
    quoted = quoted.replace("> +\t * Retry on the two transient errors.",
                            "> +\t * Retry on the two transient errors.\n\nNit: a blank line here, please.\n")
    threads["reviewed"] = [plain_mail("Re: [PATCH v2 2/4] x86/virt/tdx: Add a SEAMCALL wrapper for "
                                      "TDH.SYS.SHUTDOWN", "human-review@example.org",
                                      "On Mon, Nadia Okafor wrote:\n" + quoted,
                                      in_reply_to="20260914-tdx-shutdown-v2-2-5a1c0ffee@example.com",
                                      author="Kim Reviewer <kim@example.org>").encode()]
    for msgs in threads.values():
        for raw in msgs:
            inbox.deliver(raw)
    inbox.start()
    yield inbox
    inbox.stop()
