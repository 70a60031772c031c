"""The resident b4-check worker (bot/resident.py): what b4 sees through it
is what it sees from a plain run, byte for byte and status for status; a
worker that is stale, dead, hung or not ours never answers in its place.

Every test has its own XDG_RUNTIME_DIR and stops its workers at the end.
The other test modules run with the worker off (conftest.py)."""
import mailbox
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import hostile
from conftest import FIXTURES, ROOT, SEEDS, git_tree, run_cli

ON = {"TDXBOT_B4_SERVER": "1"}
OFF = {"TDXBOT_B4_SERVER": "0"}


class Runtime:
    """A private XDG_RUNTIME_DIR and what the worker leaves in it."""

    def __init__(self, path: Path):
        self.path = path
        self.folder = path / "tdxbot"
        self.env = {**ON, "XDG_RUNTIME_DIR": str(path)}

    def logs(self) -> str:
        return "".join(p.read_text() for p in sorted(self.folder.glob("*.log"))) if self.folder.is_dir() else ""

    def served(self) -> int:
        return self.logs().count(": child ")

    def sockets(self) -> list[Path]:
        return sorted(self.folder.glob("*.sock")) if self.folder.is_dir() else []

    def pids(self) -> list[int]:
        out = []
        for lock in self.folder.glob("*.sock.lock") if self.folder.is_dir() else []:
            text = lock.read_text().strip()
            if text.isdigit() and _alive(int(text)):
                out.append(int(text))
        return out

    def wait_listening(self, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.sockets()) >= count and len(self.pids()) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"no worker listening; log:\n{self.logs()}")

    def stop(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                continue
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie of ours is not alive
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


@pytest.fixture
def runtime(tmp_path):
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    rt = Runtime(run)
    yield rt
    rt.stop()


def _messages(path: Path) -> list[bytes]:
    return [m.as_bytes() for m in mailbox.mbox(str(path))]


def _inputs() -> dict[str, bytes]:
    """Mails of every kind b4 passes: real seed patches and their review,
    the example series, labelled eval mails and hostile ones (the big ones
    left out: they only take longer)."""
    out: dict[str, bytes] = {}
    for i, raw in enumerate(_messages(FIXTURES / "example-series.mbox")):
        out[f"example-{i}"] = raw
    for path in sorted((FIXTURES / "eval").glob("*.eml")):
        out[f"eval-{path.stem}"] = path.read_bytes()
    for name, raw in hostile.corpus().items():
        if len(raw) < 64_000:
            out[f"hostile-{name}"] = raw
    if SEEDS.is_dir():
        for i, raw in enumerate(_messages(SEEDS / "tdh-sys-disable-v2-3-thread.mbox")):
            out[f"seed-{i}"] = raw
    out["empty"] = b""
    out["not-a-mail"] = bytes(range(256)) * 4
    return out


def _run(args, stdin, env, cwd=None):
    res = run_cli(*args, stdin=stdin, env=env, cwd=cwd)
    return res.returncode, res.stdout, res.stderr


def test_worker_answers_exactly_as_a_plain_run(runtime):
    inputs = _inputs()
    assert len(inputs) > 40
    first = _run(["b4-check"], inputs["example-2"], runtime.env)  # no worker yet: runs itself, starts one
    assert first == _run(["b4-check"], inputs["example-2"], OFF)
    runtime.wait_listening()
    calls = [(["b4-check"], name) for name in inputs]
    calls += [(["b4-check", "--all"], "example-1"), (["b4-check", "--ignore", "tdx-status-unmasked"], "example-2"),
              (["b4-check", "--ignore=no-such-rule"], "example-2"), (["b4-review-check"], "example-2"),
              (["b4-review-check"], "example-0")]
    differ = []
    for args, name in calls:
        plain = _run(args, inputs[name], OFF)
        served = _run(args, inputs[name], runtime.env)
        if plain != served:
            differ.append((args, name, plain, served))
    assert not differ, differ[:3]
    assert runtime.served() == len(calls), runtime.logs()
    # What the comparison covers: findings, silence, and a one-line error.
    assert b"[tdx-status-unmasked]" in _run(["b4-check"], inputs["example-2"], runtime.env)[1]
    assert _run(["b4-check"], inputs["example-0"], runtime.env) == (0, b"", b"")  # the cover letter
    bad = _run(["b4-check", "--ignore=no-such-rule"], inputs["example-2"], runtime.env)
    assert bad[0] == 2 and bad[2].count(b"\n") == 1 and b"Traceback" not in bad[2]


def test_worker_uses_the_callers_directory_and_environment(runtime, tmp_path):
    """git config is read where b4 runs, with b4's environment."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))
    git = git_tree(repo, env, {"README": "x\n"})
    patch = _messages(FIXTURES / "example-series.mbox")[2]
    run_cli("b4-check", stdin=patch, env=runtime.env)
    runtime.wait_listening()
    before = _run(["b4-check"], patch, {**runtime.env, "HOME": str(tmp_path)}, cwd=repo)
    assert b"[tdx-status-unmasked]" in before[1]
    git("config", "tdxbot.ignore", "tdx-status-unmasked")
    plain = _run(["b4-check"], patch, {**OFF, "HOME": str(tmp_path)}, cwd=repo)
    served = _run(["b4-check"], patch, {**runtime.env, "HOME": str(tmp_path)}, cwd=repo)
    assert served == plain and b"[tdx-status-unmasked]" not in served[1]
    # The environment too: a global config named by the caller's GIT_CONFIG_GLOBAL.
    global_config = tmp_path / "global.gitconfig"
    global_config.write_text("[tdxbot]\n\tignore = tdx-errno-define\n")
    other = _messages(FIXTURES / "example-series.mbox")[1]
    caller = {"HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": str(global_config)}
    plain = _run(["b4-check"], other, {**OFF, **caller})
    served = _run(["b4-check"], other, {**runtime.env, **caller})
    assert served == plain and b"[tdx-errno-define]" not in served[1]
    assert b"[tdx-errno-define]" in _run(["b4-check"], other, runtime.env)[1]
    assert runtime.served() == 4, runtime.logs()


def test_patches_at_once_each_get_their_own_answer(runtime):
    mails = _messages(FIXTURES / "example-series.mbox")
    run_cli("b4-check", stdin=mails[1], env=runtime.env)
    runtime.wait_listening()
    expected = {i: _run(["b4-check"], m, OFF) for i, m in enumerate(mails)}
    results: dict[int, tuple] = {}

    def one(i):
        results[i] = _run(["b4-check"], mails[i % len(mails)], runtime.env)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == expected[i % len(mails)] for i in range(12))
    assert runtime.served() == 12


def _copied_package(tmp_path) -> tuple[Path, dict]:
    """tdxbot as installed, copied to a folder of its own (first on
    PYTHONPATH), so a test may change its files."""
    import tdxbot

    site = tmp_path / "site"
    shutil.copytree(Path(tdxbot.__file__).parent, site / "tdxbot",
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = os.pathsep.join([str(site)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return site / "tdxbot", {"PYTHONPATH": path}


def test_a_changed_installation_is_never_served_by_the_old_worker(runtime, tmp_path):
    package, pythonpath = _copied_package(tmp_path)
    env = {**runtime.env, **pythonpath}
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    run_cli("b4-check", stdin=mail, env=env)
    runtime.wait_listening()
    assert b"[tdx-status-unmasked]" in _run(["b4-check"], mail, env)[1] and runtime.served() == 1
    # An edit of a rule, as in an editable install: its message changes.
    rule = package / "rules" / "tdx_status_unmasked.py"
    text = rule.read_text()
    assert "\nID = " in text
    rule.write_text(text.replace('ID = "tdx-status-unmasked"', 'ID = "tdx-status-unmasked-edited"'))
    answer = _run(["b4-check"], mail, env)
    assert b"[tdx-status-unmasked-edited]" in answer[1], answer
    # The old worker took the connection, saw the change and handed the
    # patch back: the answer above came from the edited code.
    assert runtime.served() == 2 and "files changed" in runtime.logs(), runtime.logs()
    # The new worker starts with the new code and serves the next patch.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and runtime.logs().count("started") < 2:
        time.sleep(0.05)
    runtime.wait_listening()
    again = _run(["b4-check"], mail, env)
    assert again == answer and runtime.served() == 3, runtime.logs()


def test_the_worker_leaves_when_idle(runtime):
    env = {**runtime.env, "TDXBOT_B4_SERVER_IDLE": "1"}
    run_cli("b4-check", stdin=b"", env=env)
    runtime.wait_listening()
    pids = runtime.pids()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)
    assert not runtime.sockets() and "stopped after 0 patch(es): idle" in runtime.logs()


def test_no_worker_in_a_folder_others_may_enter(runtime):
    runtime.folder.mkdir(mode=0o755)
    os.chmod(runtime.folder, 0o755)
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    for _ in range(2):
        assert _run(["b4-check"], mail, runtime.env) == _run(["b4-check"], mail, OFF)
    time.sleep(1.0)
    assert not runtime.sockets() and not runtime.pids()


def test_no_worker_through_a_symlinked_folder(runtime, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    runtime.folder.symlink_to(elsewhere)
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    assert _run(["b4-check"], mail, runtime.env) == _run(["b4-check"], mail, OFF)
    time.sleep(1.0)
    assert not list(elsewhere.iterdir())


def test_off_means_off(runtime):
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    _run(["b4-check"], mail, {**runtime.env, **OFF})
    time.sleep(1.0)
    assert not runtime.folder.exists()


class _FakeWorker:
    """Something else listening on the worker's socket: it answers each
    connection with `answer` (after reading the request) and closes, or
    says nothing at all."""

    def __init__(self, path: Path, answer: bytes | None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.answer, self.held = answer, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.recv(1 << 20)
            if self.answer is None:
                self.held.append(conn)  # never answers
                continue
            conn.sendall(self.answer)
            if len(self.answer) == 5:  # "ready" and a pid: take the go-ahead, then die
                conn.recv(1)
            conn.close()

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def _socket_path(runtime: Runtime) -> Path:
    """Where the worker of this Python and installation listens."""
    from tdxbot import resident

    old = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = str(runtime.path)
    try:
        return Path(resident.socket_path())
    finally:
        if old is None:
            del os.environ["XDG_RUNTIME_DIR"]
        else:
            os.environ["XDG_RUNTIME_DIR"] = old


@pytest.mark.parametrize("answer", [b"", b"?", b"S", b"R"])
def test_a_worker_that_does_not_take_the_patch_costs_nothing(runtime, answer):
    """Closed at once, a wrong byte, "stale", or "ready" and gone before
    the caller's go-ahead: the caller checks the patch itself, with the
    same output."""
    fake = _FakeWorker(_socket_path(runtime), answer)
    try:
        mail = _messages(FIXTURES / "example-series.mbox")[2]
        assert _run(["b4-check"], mail, runtime.env) == _run(["b4-check"], mail, OFF)
    finally:
        fake.close()


def test_a_worker_that_dies_after_taking_the_patch_is_one_line(runtime):
    fake = _FakeWorker(_socket_path(runtime), b"R" + (4242).to_bytes(4, "big"))
    try:
        status, out, err = _run(["b4-check"], _messages(FIXTURES / "example-series.mbox")[2], runtime.env)
    finally:
        fake.close()
    assert status == 2 and out == b""
    assert err.count(b"\n") == 1 and b"worker stopped before it finished" in err and b"Traceback" not in err


@pytest.mark.slow
def test_a_hung_worker_is_waited_for_only_a_moment(runtime):
    from tdxbot import resident

    fake = _FakeWorker(_socket_path(runtime), None)
    try:
        mail = _messages(FIXTURES / "example-series.mbox")[2]
        started = time.monotonic()
        served = _run(["b4-check"], mail, runtime.env)
        took = time.monotonic() - started
    finally:
        fake.close()
    assert served == _run(["b4-check"], mail, OFF)
    assert resident.READY_SECONDS <= took < resident.READY_SECONDS + 30


def test_the_caller_imports_nothing_heavy(runtime):
    """With a worker running, a b4-check process loads neither the rules
    nor the parser: that is where the time goes."""
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    run_cli("b4-check", stdin=mail, env=runtime.env)
    runtime.wait_listening()
    probe = ("import sys, runpy\n"
             "sys.argv = ['tdxbot', 'b4-check']\n"
             "try:\n    runpy.run_module('tdxbot', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "loaded = sorted(m for m in sys.modules if m.startswith(('tdxbot', 'tree_sitter', 'unidiff')))\n"
             "sys.stderr.write(repr(loaded))\n")
    env = dict(os.environ, **runtime.env)
    env.pop("TDXBOT_DEBUG", None)
    res = subprocess.run([sys.executable, "-c", probe], input=mail, capture_output=True, env=env, cwd=ROOT,
                         timeout=60)
    loaded = eval(res.stderr.decode().strip().splitlines()[-1])
    assert b"[tdx-" in res.stdout
    assert loaded == ["tdxbot", "tdxbot.entry", "tdxbot.resident", "tdxbot.rules"], loaded


def _many_hunks(count: int) -> bytes:
    """A patch that takes the rules seconds: one added line per hunk."""
    hunks = "".join(f"@@ -{i * 10},0 +{i * 11},1 @@\n+\tx{i} = seamcall(TDH_SYS_DISABLE, &args);\n"
                    for i in range(1, count))
    return ("From: Ada Slow <ada@example.org>\nSubject: [PATCH] x86/virt/tdx: Add many calls\n"
            "Message-ID: <slow@example.org>\n\nMany calls.\n\nSigned-off-by: Ada Slow <ada@example.org>\n"
            "---\ndiff --git a/arch/x86/virt/vmx/tdx/tdx.c b/arch/x86/virt/vmx/tdx/tdx.c\n"
            "--- a/arch/x86/virt/vmx/tdx/tdx.c\n+++ b/arch/x86/virt/vmx/tdx/tdx.c\n" + hunks).encode()


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)])
def test_a_signal_to_the_caller_reaches_the_child(runtime, signum, status):
    """Ctrl-C or a kill of the b4-check process stops the check the worker
    runs for it, as it would stop a plain run: nothing is printed after."""
    run_cli("b4-check", stdin=b"", env=runtime.env)
    runtime.wait_listening()
    env = dict(os.environ, **runtime.env)
    proc = subprocess.Popen([sys.executable, "-m", "tdxbot", "b4-check"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    proc.stdin.write(_many_hunks(12000))
    proc.stdin.close()
    deadline = time.monotonic() + 30
    while ": child " not in runtime.logs() and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int(runtime.logs().split(": child ")[1].split()[0])
    time.sleep(0.3)
    proc.send_signal(signum)
    proc.wait(timeout=30)
    out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.returncode == status, err
    assert out == b""
    if signum == signal.SIGINT:
        assert err == b"tdxbot: interrupted\n"
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.mark.slow
def test_a_stopped_worker_neither_holds_b4_nor_checks_twice(runtime):
    """The worker's waiting child is stopped (SIGSTOP: a debugger, a
    swapping machine). The caller checks the patch itself after a moment,
    its output ends when it does (no pipe of b4's is left in the socket),
    and the child, let go afterwards, prints nothing."""
    from tdxbot import resident

    mail = _messages(FIXTURES / "example-series.mbox")[2]
    run_cli("b4-check", stdin=b"", env=runtime.env)
    runtime.wait_listening()
    worker = runtime.pids()[0]
    deadline = time.monotonic() + 30
    while not _children(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    spare = _children(worker)[0]
    time.sleep(0.5)  # its rehearsal done
    os.kill(spare, signal.SIGSTOP)
    try:
        started = time.monotonic()
        served = _run(["b4-check"], mail, runtime.env)
        took = time.monotonic() - started
    finally:
        os.kill(spare, signal.SIGCONT)
    assert served == _run(["b4-check"], mail, OFF) and served[1]
    assert resident.READY_SECONDS <= took < resident.READY_SECONDS + 30
    deadline = time.monotonic() + 10
    while _alive(spare) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(spare), "the stopped child, let go, found its caller gone and left"


# Red-team round on the worker (stop 29): each break, then its fix.

def _shell(command: str, env: dict, stdin: bytes | None = None, cwd=None):
    full = dict(os.environ, **env)
    full.pop("TDXBOT_DEBUG", None)
    res = subprocess.run(["sh", "-c", command], input=stdin, capture_output=True, env=full,
                         cwd=cwd or ROOT, timeout=60)
    return res.returncode, res.stdout, res.stderr


@pytest.mark.parametrize("closed", ["0<&-", ">&-", "2>&-"])
def test_a_closed_standard_stream_gets_what_a_plain_run_gets(runtime, closed, tmp_path):
    """A closed stream must not be replaced by the caller's socket: the
    child would read its own socket as the patch (a hang) or write the
    findings into it (lost)."""
    mail = tmp_path / "patch.eml"
    mail.write_bytes(_messages(FIXTURES / "example-series.mbox")[2])
    run_cli("b4-check", stdin=b"", env=runtime.env)
    runtime.wait_listening()
    source = "" if closed == "0<&-" else f" < {mail}"
    command = f"exec {sys.executable} -m tdxbot b4-check{source} {closed}"
    assert _shell(command, runtime.env) == _shell(command, OFF)
    assert runtime.served() == 0


def test_the_worker_imports_nothing_from_where_b4_runs(runtime, tmp_path):
    """The first call starts the worker from b4's directory: a tdxbot.py
    there must not run (a plain console-script run never imports it)."""
    evil = tmp_path / "evil"
    evil.mkdir()
    marker = tmp_path / "ran"
    (evil / "tdxbot.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    script = Path(sys.executable).parent / "tdxbot"
    if not script.exists():
        pytest.skip("needs the installed tdxbot script (python -m puts the directory on sys.path)")
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    env = dict(os.environ, **runtime.env)
    subprocess.run([str(script), "b4-check"], input=mail, capture_output=True, env=env, cwd=evil, timeout=60)
    runtime.wait_listening()
    served = subprocess.run([str(script), "b4-check"], input=mail, capture_output=True, env=env, cwd=evil,
                            timeout=60)
    assert not marker.exists()
    assert b"[tdx-status-unmasked]" in served.stdout and runtime.served() == 1


def test_the_worker_holds_no_descriptor_of_its_first_caller(runtime, tmp_path):
    """A script serialising b4 runs with flock(1) on fd 9: the lock is
    free again as soon as the script ends, not when the worker does."""
    import fcntl

    lockfile = tmp_path / "lock"
    command = (f"( flock 9 && exec {sys.executable} -m tdxbot b4-check < /dev/null ) "
               f"9>{lockfile}")
    _shell(command, runtime.env)
    runtime.wait_listening()
    with open(lockfile) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the worker kept it


def test_an_edit_of_rules_kept_outside_the_package_is_seen(runtime, tmp_path):
    """An editable install maps tdxbot.rules to the source tree's rules/,
    outside the package folder: an edit there makes the worker stale too."""
    package, pythonpath = _copied_package(tmp_path)
    elsewhere = tmp_path / "rules-elsewhere"
    shutil.move(str(package / "rules"), str(elsewhere))
    (package / "rules").mkdir()
    (package / "rules" / "__init__.py").write_text(
        f'"""Rules kept elsewhere, as an editable install maps them."""\n__path__ = [{str(elsewhere)!r}]\n')
    env = {**runtime.env, **pythonpath}
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    run_cli("b4-check", stdin=mail, env=env)
    runtime.wait_listening()
    assert b"[tdx-status-unmasked]" in _run(["b4-check"], mail, env)[1] and runtime.served() == 1
    rule = elsewhere / "tdx_status_unmasked.py"
    rule.write_text(rule.read_text().replace('ID = "tdx-status-unmasked"', 'ID = "tdx-status-unmasked-edited"'))
    assert b"[tdx-status-unmasked-edited]" in _run(["b4-check"], mail, env)[1]
    assert "files changed" in runtime.logs()


def test_no_worker_under_a_runtime_folder_others_may_write(runtime):
    """Whoever may rename entries of XDG_RUNTIME_DIR could swap the worker's
    folder for one of theirs: such a base gets no worker."""
    os.chmod(runtime.path, 0o777)
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    assert _run(["b4-check"], mail, runtime.env) == _run(["b4-check"], mail, OFF)
    time.sleep(1.0)
    assert not runtime.folder.exists()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to listen as another user")
def test_a_listener_of_another_user_is_told_nothing(runtime):
    """An impostor's socket where the worker's should be (a folder swapped
    under a shared XDG_RUNTIME_DIR): the caller sees the listener is not its
    own user's, sends nothing, and checks the patch itself."""
    path = _socket_path(runtime)
    got = tmp_read = None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(path))
            os.setgid(65534)
            os.setuid(65534)
            listener.listen(1)
            os.write(write_end, b"L")
            conn, _ = listener.accept()
            conn.settimeout(10)
            data = conn.recv(1 << 20)
            os.write(write_end, b"%d" % len(data))
        finally:
            os._exit(0)
    os.close(write_end)
    assert os.read(read_end, 1) == b"L"
    try:
        mail = _messages(FIXTURES / "example-series.mbox")[2]
        assert _run(["b4-check"], mail, {**runtime.env, "SECRET_TOKEN": "hunter2"}) == _run(["b4-check"], mail, OFF)
    finally:
        os.waitpid(pid, 0)
    got = os.read(read_end, 32)
    os.close(read_end)
    assert got == b"0", "the impostor received bytes"


def test_a_caller_under_another_text_encoding_checks_its_patch_itself(runtime):
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    # Python turns on its UTF-8 mode in the C locale, and not in C.UTF-8.
    run_cli("b4-check", stdin=b"", env={**runtime.env, "LC_ALL": "C.UTF-8"})
    runtime.wait_listening()
    other = {**runtime.env, "LC_ALL": "C"}
    assert _run(["b4-check"], mail, other) == _run(["b4-check"], mail, {**OFF, "LC_ALL": "C"})
    assert runtime.logs().count("not served") == 1
    assert _run(["b4-check"], mail, {**runtime.env, "LC_ALL": "C.UTF-8"})[1]
    assert runtime.logs().count("not served") == 1 and runtime.served() == 2


def test_a_report_that_cannot_be_written_is_an_error_either_way(runtime, tmp_path):
    mail = tmp_path / "patch.eml"
    mail.write_bytes(_messages(FIXTURES / "example-series.mbox")[2])
    run_cli("b4-check", stdin=b"", env=runtime.env)
    runtime.wait_listening()
    command = f"exec {sys.executable} -m tdxbot b4-check < {mail} > /dev/full"
    plain = _shell(command, OFF)
    assert plain[0] == 2 and b"No space left" in plain[2] and plain[2].count(b"\n") == 1
    assert _shell(command, runtime.env) == plain and runtime.served() == 1


def test_a_caller_under_other_limits_gets_a_worker_of_its_own(runtime, tmp_path):
    """The child that checks a patch has its worker's limits, niceness and
    cgroup: a caller bounded otherwise (`ulimit`, `nice`) is not served by
    a worker started without those bounds."""
    mail = tmp_path / "patch.eml"
    mail.write_bytes(_messages(FIXTURES / "example-series.mbox")[2])
    run_cli("b4-check", stdin=b"", env=runtime.env)
    runtime.wait_listening()
    bounded = f"ulimit -n 300; exec nice -n 3 {sys.executable} -m tdxbot b4-check < {mail}"
    first = _shell(bounded, runtime.env)
    assert first == _shell(bounded, OFF) and runtime.served() == 0
    runtime.wait_listening(count=2)
    assert _shell(bounded, runtime.env) == first and runtime.served() == 1


def test_an_upgraded_dependency_makes_the_worker_stale(runtime):
    """pip adds and removes folders in site-packages when it upgrades
    codespell or tree-sitter-c: the worker leaves instead of answering with
    what it loaded before."""
    import site

    folders = [f for f in sys.path if os.path.basename(f) in ("site-packages", "dist-packages")
               and os.access(f, os.W_OK)]
    if not folders:
        pytest.skip("no writable site-packages folder")
    mail = _messages(FIXTURES / "example-series.mbox")[2]
    run_cli("b4-check", stdin=b"", env=runtime.env)
    runtime.wait_listening()
    assert _run(["b4-check"], mail, runtime.env)[1] and runtime.served() == 1
    marker = Path(folders[0]) / "tdxbot-test-upgrade.dist-info"
    marker.mkdir()
    try:
        answer = _run(["b4-check"], mail, runtime.env)
    finally:
        marker.rmdir()
    assert answer == _run(["b4-check"], mail, OFF)
    assert "files changed" in runtime.logs()
    del site


def test_umask_002_without_a_runtime_folder_still_gets_a_worker(tmp_path):
    """No XDG_RUNTIME_DIR (cron, ssh without pam_systemd) and umask 002: the
    folders under ~/.cache are made 0700 level by level, not refused as
    group-writable."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="tdx-", dir="/tmp"))  # a socket's path has 107 bytes at most
    rt = Runtime(home / ".cache")
    rt.folder = home / ".cache" / "tdxbot" / "run"
    env = {**ON, "HOME": str(home), "XDG_RUNTIME_DIR": "", "XDG_CACHE_HOME": ""}
    mail = tmp_path / "patch.eml"
    mail.write_bytes(_messages(FIXTURES / "example-series.mbox")[2])
    command = f"umask 002; exec {sys.executable} -m tdxbot b4-check < {mail}"
    try:
        first = _shell(command, env)
        rt.wait_listening()
        assert _shell(command, env) == first and rt.served() == 1
    finally:
        rt.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_pythonunbuffered_reaches_the_child(runtime, tmp_path):
    """With PYTHONUNBUFFERED set, the child's stdout is unbuffered as a
    plain run's is (b4 would see each line as it is written)."""
    probe = ("import sys, os\n"
             "from tdxbot import resident\n"
             "resident._new_streams((('utf-8', 'strict'),) * 3, False)\n"
             "print(type(sys.stdout.buffer).__name__, sys.stdout.write_through)\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, timeout=60)
    assert res.stdout.split() == [b"FileIO", b"True"], res.stderr
    env.pop("PYTHONUNBUFFERED")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, timeout=60)
    assert res.stdout.split() == [b"BufferedWriter", b"False"], res.stderr
