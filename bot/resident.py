"""A resident worker for the b4 check commands.

b4 starts `tdxbot b4-check` once per patch. Most of such a run is the same
work every time: Python importing tdxbot, its rules and tree-sitter, and
compiling what they use; reading the patch is the smaller part. A worker
that has done the common part once forks a child for each patch. The
child takes over the caller's stdin, stdout and stderr (passed over a Unix
socket, SCM_RIGHTS), its working directory, environment, umask and
arguments, and runs the same `cli.main` a plain run would; the caller
exits with the child's status. So b4 sees what it would have seen, sooner.

The caller side (run_by_worker) imports nothing but what Python has loaded
at start, the built-in _socket, marshal and zlib, and the rules package's
empty __init__ (for the stamp): it is the whole of a b4-check's start once
a worker runs.

The worker:
- starts on the first b4 check command that finds none; that command runs
  the check itself;
- lives in a folder only its user can enter ($XDG_RUNTIME_DIR/tdxbot, else
  ~/.cache/tdxbot/run), one per Python and tdxbot installation, and answers
  only its own user (SO_PEERCRED);
- serves b4-check and b4-review-check only;
- ends after IDLE_SECONDS without a request (TDXBOT_B4_SERVER_IDLE sets
  them), at the first request after tdxbot's files change (an upgrade or an
  edit of an editable install), or on SIGTERM; its log is beside the
  socket.
TDXBOT_B4_SERVER=0 turns it off. Whatever goes wrong before the child has
taken the streams (no folder, a dead or busy worker, a stale one) sends the
caller back to running the check itself, with nothing printed.
"""
from __future__ import annotations

import marshal
import os
import sys

SWITCH = "TDXBOT_B4_SERVER"
IDLE_VARIABLE = "TDXBOT_B4_SERVER_IDLE"
COMMANDS = ("b4-check", "b4-review-check")
IDLE_SECONDS = 600.0
# The worker answers at once: a request that has no "ready" after this is
# run by the caller instead (a worker stopped under a debugger, a machine
# swapping). The check itself has no limit here: the rules' budgets bound it.
READY_SECONDS = 5.0
MAX_CHILDREN = 8  # patches checked at once; more wait in the socket's queue
MAX_REQUEST = 1 << 20  # bytes: arguments and environment
PROTOCOL = 2
# The caller sends its request; one byte answers it: a child has taken it
# (READY, then the child's pid in 4 bytes), or the worker's code is not
# what is installed now (STALE). After READY the caller sends GO with its
# stdin, stdout and stderr (SCM_RIGHTS), and only then does the child run
# the command. A caller that gave up waiting for READY checks the patch
# itself and has sent no descriptor: no patch is checked twice, and none
# of b4's pipes is held open in a socket nobody reads. The exit status
# follows GO as 4 bytes.
READY, STALE, GO = b"R", b"S", b"G"


def run_by_worker(argv: list[str]) -> int | None:
    """The exit status of argv run by the worker, or None when the caller
    should run it itself (no worker yet: one is started for the next call)."""
    if os.environ.get(SWITCH, "1") == "0" or not hasattr(os, "fork"):
        return None
    try:
        import _socket

        if not hasattr(_socket, "SO_PEERCRED"):
            return None  # Linux's way of knowing who calls; elsewhere no worker
        for fd in (0, 1, 2):
            # A closed standard stream: a plain run says so; a socket opened
            # now would take its number and be handed over as the stream.
            os.fstat(fd)
        where = socket_path()
        if where is None:
            return None
        # The environment and the directory as bytes, as git will see them;
        # arguments as this process decoded them, as cli will see them.
        request = marshal.dumps((PROTOCOL, installed_stamp(), argv, os.getcwdb(), dict(os.environb),
                                 _umask(), _stream_settings(), _encodings()))
    except (ImportError, OSError, ValueError):
        return None
    if len(request) > MAX_REQUEST:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(READY_SECONDS)
        try:
            sock.connect(where)
        except OSError:
            start_worker(where)
            return None
        if _peer_uid(sock) != os.getuid():
            return None  # not our worker: tell it nothing
        try:
            sock.sendall(len(request).to_bytes(4, "big") + request)
            answer = sock.recv(1)
        except OSError:
            return None
        if answer == STALE:
            start_worker(where, replacing=True)
        if answer != READY:
            return None
        child = int.from_bytes(_receive(sock, 4) or b"\0", "big")
        try:
            fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in (0, 1, 2))
            sock.sendmsg([GO], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        except OSError:
            return None  # the child is gone before it began
        sock.settimeout(None)
        status = _wait(sock, child)
    finally:
        sock.close()
    if len(status) < 4:
        # The child had the streams and may have read the patch: running
        # the check here could not read it again.
        sys.stderr.write("tdxbot: the b4-check worker stopped before it finished; run the "
                         f"check again, or set {SWITCH}=0\n")
        return 2
    return int.from_bytes(status, "big", signed=True)


def _wait(sock, child: int) -> bytes:
    """The child's exit status. Ctrl-C, SIGTERM and SIGHUP reach the child
    as they would reach a plain run: Ctrl-C lets it say "interrupted" and
    end; the others end it, and this process with it."""
    import _signal

    def end_both(signum, frame):
        if child > 0:
            os.kill(child, signum)
        _signal.signal(signum, _signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for signum in (_signal.SIGTERM, _signal.SIGHUP):
        _signal.signal(signum, end_both)
    try:
        return _receive(sock, 4)
    except KeyboardInterrupt:
        if child <= 0:
            raise
        os.kill(child, _signal.SIGINT)
        return _receive(sock, 4)


def _receive(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except InterruptedError:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _encodings() -> tuple:
    """How this Python turns bytes from the system into text: a child of a
    worker started under another locale would read names otherwise."""
    return sys.getfilesystemencoding(), sys.getfilesystemencodeerrors(), sys.flags.utf8_mode


def _stream_settings() -> tuple:
    """Encoding and error handler of the caller's three text streams, and
    whether stdout is a terminal: the child's streams are made the same."""
    out = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        out.append((getattr(stream, "encoding", None) or "utf-8", getattr(stream, "errors", None) or "strict"))
    return tuple(out), bool(sys.stdout and sys.stdout.isatty())


def run_folder() -> str | None:
    """The folder of the worker's socket, made if need be; None unless it
    is a real folder of this user that nobody else may enter."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        parts = ("tdxbot",)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        parts = ("tdxbot", "run")
    uid = os.getuid()
    try:
        # Whoever may rename what is in base could swap our folder for one of
        # theirs (an XDG_RUNTIME_DIR kept across `su`): base must be ours or
        # root's, and nobody else may write to it.
        if len(parts) > 1:
            os.makedirs(base, mode=0o700, exist_ok=True)  # a new account has no ~/.cache yet
        info = os.stat(base)
        if info.st_uid not in (uid, 0) or not _only_ours_may_write(info):
            return None
        folder = base
        for part in parts:
            folder = os.path.join(folder, part)
            try:
                os.mkdir(folder, 0o700)  # each level: makedirs gives the upper ones the umask's mode
            except FileExistsError:
                pass
            info = os.lstat(folder)
            if (info.st_mode & 0o170000) != 0o040000 or info.st_uid != uid or not _only_ours_may_write(info):
                return None
    except (OSError, ValueError):
        return None
    return folder if not info.st_mode & 0o077 else None


def _only_ours_may_write(info) -> bool:
    """Nobody but this user may write to the folder: no write bit for
    others, and a group write bit only for the user's own private group
    (umask 002 with one group per user, as Debian sets up)."""
    if info.st_mode & 0o002:
        return False
    if not info.st_mode & 0o020:
        return True
    try:
        import grp
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(info.st_gid)
    except (ImportError, KeyError, OSError):
        return False
    return info.st_gid == os.getgid() and group.gr_name == user and set(group.gr_mem) <= {user}


def socket_path() -> str | None:
    """One socket per Python and tdxbot installation; None when there is
    no private folder or the path is too long for a Unix socket."""
    import zlib

    folder = run_folder()
    if folder is None:
        return None
    # python and python3 of one virtual environment are one installation.
    # What bounds a check (resource limits, niceness, cgroup, groups) is
    # inherited by the worker from the call that started it: a caller under
    # other bounds (`ulimit -v`, `nice`, `systemd-run -p MemoryMax=`) gets
    # a worker of its own.
    where_from = "\0".join((sys.prefix, os.path.realpath(sys.executable), _package_folder()))
    key = zlib.crc32(os.fsencode(where_from) + _bounds())
    path = os.path.join(folder, f"b4-{key:08x}.sock")
    return path if len(os.fsencode(path)) < 100 else None


def _bounds() -> bytes:
    """This process's resource limits, niceness, cgroup, groups and Python
    settings from the environment, as bytes."""
    parts = []
    for name in ("/proc/self/limits", "/proc/self/cgroup"):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
            try:
                parts.append(os.read(fd, 1 << 16))
            finally:
                os.close(fd)
        except OSError:
            parts.append(b"?")
    ids = (os.getpriority(os.PRIO_PROCESS, 0), os.getgid(), os.geteuid(), os.getegid(), sorted(os.getgroups()))
    # The interpreter's settings from the environment (PYTHONPATH,
    # PYTHONWARNINGS, ...) are read once, at the worker's start.
    python = sorted((k, v) for k, v in os.environb.items() if k.startswith(b"PYTHON"))
    return b"\0".join(parts) + repr((ids, python)).encode()


def _package_folder() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def installed_stamp() -> tuple:
    """What tdxbot's installed files are (the package's folder, and the
    rules' if an editable install keeps them elsewhere): each file's name,
    size and change time, and the change times of the site-packages
    folders, folded into two checksums. A worker whose stamp differs from its
    caller's runs old code and must not answer."""
    import zlib

    from . import rules

    names = []
    top = _package_folder()
    folders = [top] + [p for p in rules.__path__ if not os.path.abspath(p).startswith(top + os.sep)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                    continue
                info = entry.stat(follow_symlinks=False)
                names.append(f"{entry.path}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ino}")
    # An upgrade of a dependency (codespell's dictionary, tree-sitter-c's
    # grammar) adds and removes folders in its site-packages folder.
    for folder in sys.path:
        if os.path.basename(folder) in ("site-packages", "dist-packages"):
            try:
                names.append(f"{folder}\0{os.stat(folder).st_mtime_ns}")
            except OSError:
                pass
    names.sort()
    data = "\n".join(names + [sys.version]).encode("utf-8", "surrogateescape")
    return zlib.crc32(data), zlib.adler32(data), len(names)


def start_worker(where: str, replacing: bool = False) -> None:
    """Start a worker for the next call, detached from this one: its own
    session, and /dev/null for its streams, so that b4 reading this
    command's output to its end never waits for the worker. Not when one
    holds the lock already: it is still warming up (b4's next patches come
    sooner than that), unless it is a stale one replaced (the new worker
    waits for it to leave)."""
    if not replacing and _lock_is_held(where):
        return
    # -P: nothing is imported from the working directory (a tdxbot.py where
    # b4 runs). Only the three streams, on /dev/null, reach the worker: a
    # descriptor the caller inherited (a shell's `flock 9`) must not stay
    # open for the worker's ten minutes.
    code = "import sys; from tdxbot.resident import serve; serve(sys.argv[1])"
    argv = [sys.executable, "-P", "-c", code, where]
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        return
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir("/")
        os.execv(sys.executable, argv)
    finally:
        os._exit(127)


def _lock_is_held(where: str) -> bool:
    """Whether a worker holds the socket's lock (it keeps it for its life)."""
    try:
        import fcntl

        fd = os.open(where + ".lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (ImportError, OSError):
        return False  # no lock file yet: the first worker
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


# The worker's side. Everything below runs in the worker or its children.

def serve(where: str) -> None:
    """Run the worker on the socket at where until it is idle, stale or
    told to stop. One worker per socket: a second one waits three seconds
    for the first to leave (a stale one being replaced), then gives up."""
    import fcntl
    import signal
    import socket
    import time

    os.chdir("/")
    idle = _idle_seconds()
    folder = os.path.dirname(where)
    if run_folder() != folder:
        return
    lock_fd = os.open(where + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + 3.0
    while True:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if time.monotonic() > deadline:
                return  # another worker has the socket
            time.sleep(0.05)
    os.ftruncate(lock_fd, 0)
    os.write(lock_fd, f"{os.getpid()}\n".encode())  # for `kill $(cat ….sock.lock)`
    log = _Log(where[:-len(".sock")] + ".log")
    stamp = installed_stamp()  # before the code is loaded: a change meanwhile is seen as stale
    log.say(f"started, pid {os.getpid()}, Python {sys.executable}")
    _warm_up()
    try:
        if os.path.lexists(where):
            if (os.lstat(where).st_mode & 0o170000) != 0o140000:
                log.say(f"{where} is not a socket; not touching it")
                return
            os.unlink(where)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)
        try:
            listener.bind(where)
        finally:
            os.umask(old_mask)
        listener.listen(16)
        bound = os.stat(where).st_ino
    except OSError as exc:
        log.say(f"cannot listen on {where}: {exc}")
        return
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append("SIGTERM"))
    import gc
    import select

    gc.collect()
    gc.freeze()  # the children share these pages: the collector must not touch them
    # One child waits in accept() ahead of the next patch (forking costs a
    # few milliseconds, which the caller would wait for). When it takes a
    # connection it writes its pid to the pipe, and the worker forks the
    # next one.
    taken_read, taken_write = os.pipe()
    busy: set[int] = set()
    spare = None
    served = 0
    why = "idle"
    try:
        last = time.monotonic()
        while not stopping:
            if spare is None and len(busy) < MAX_CHILDREN:
                spare = os.fork()
                if spare == 0:
                    os.close(lock_fd)  # the lock is the worker's, not a patch's
                    os.close(taken_read)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    _wait_for_patch(listener, taken_write, stamp, log)  # never returns
            try:
                readable, _, _ = select.select([taken_read], [], [], 1.0)
            except InterruptedError:
                continue
            if readable:
                for pid in os.read(taken_read, 4096).decode().split():
                    busy.add(int(pid))
                    served += 1
                    log.say(f"patch {served}: child {pid}")
                    if int(pid) == spare:
                        spare = None
                last = time.monotonic()
            _reap(busy)
            if spare is not None and _reap({spare}) is not None:
                spare = None  # it died waiting (killed by hand): fork another
            if not busy and time.monotonic() - last > idle:
                break
        else:
            why = stopping[0]
    finally:
        if spare:
            try:
                os.kill(spare, signal.SIGTERM)
                os.waitpid(spare, 0)
            except OSError:
                pass
        try:
            if os.stat(where).st_ino == bound:
                os.unlink(where)
        except OSError:
            pass
        listener.close()
        log.say(f"stopped after {served} patch(es): {why}")


def _wait_for_patch(listener, taken_write: int, stamp: tuple, log: _Log) -> None:
    """The spare child: take the next connection of this user, tell the
    worker, serve it. Leaves when the worker is gone."""
    import socket

    worker = os.getppid()
    _check_sample()
    listener.settimeout(1.0)
    while True:
        try:
            conn, _ = listener.accept()
        except (socket.timeout, InterruptedError):
            if os.getppid() != worker:
                os._exit(0)
            continue
        except OSError:
            os._exit(0)
        if _peer_uid(conn) == os.getuid():
            break
        log.say("refused a caller of another user")
        conn.close()
    os.write(taken_write, f"{os.getpid()}\n".encode())
    listener.close()
    os.close(taken_write)
    conn.settimeout(None)
    _child(conn, stamp, log)


def _idle_seconds() -> float:
    try:
        value = float(os.environ.get(IDLE_VARIABLE, IDLE_SECONDS))
    except ValueError:
        return IDLE_SECONDS
    return min(max(value, 1.0), 86400.0) if value == value else IDLE_SECONDS


def _peer_uid(sock) -> int | None:
    """The uid of the process at the other end of a Unix socket (struct
    ucred: pid, uid, gid as C ints)."""
    import _socket

    try:
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    except OSError:
        return None
    return int.from_bytes(creds[4:8], sys.byteorder) if len(creds) == 12 else None


def _reap(children: set[int]) -> int | None:
    """Forget the children that ended; the last one found, if any."""
    ended = None
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)
            ended = pid
    return ended


class _Log:
    """A few lines on what the worker did, for whoever wonders why a
    process stays on after b4 is done: one line per patch. Kept across
    workers; started over when it has grown past LIMIT bytes."""
    LIMIT = 1 << 20

    def __init__(self, path: str):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            if os.fstat(fd).st_size > self.LIMIT:
                os.ftruncate(fd, 0)
            self._file = os.fdopen(fd, "a", buffering=1, encoding="utf-8")
        except OSError:
            self._file = None

    def say(self, text: str) -> None:
        if self._file is not None:
            import time

            self._file.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} tdxbot b4 worker: {text}\n")


# A small patch that touches what a real one does: the mail headers, a
# changelog with trailers, a C hunk with a SEAMCALL retry loop, a comment
# and an error path. The worker checks it once at start, so that the
# imports, the parser and the compiled patterns are in place before the
# first real patch.
_SAMPLE = b"""\
From: Worker Warmup <warmup@example.org>
Subject: [PATCH v2 1/2] x86/virt/tdx: Retry the example call while busy
Message-ID: <warmup-1@example.org>
Date: Mon, 7 Dec 2026 10:00:00 +0000

The example call fails with a busy status while another CPU holds the
lock. Retry it, we don't want to give up too early: it occured in testing.

Signed-off-by: Worker Warmup <warmup@example.org>
---
 arch/x86/virt/vmx/tdx/tdx.c | 12 ++++++++++++
 1 file changed, 12 insertions(+)

diff --git a/arch/x86/virt/vmx/tdx/tdx.c b/arch/x86/virt/vmx/tdx/tdx.c
--- a/arch/x86/virt/vmx/tdx/tdx.c
+++ b/arch/x86/virt/vmx/tdx/tdx.c
@@ -10,3 +10,15 @@ static int example(void)
 {
 \tstruct tdx_module_args args = {};
 
+\tu64 err;
+
+\t/* Retry until it works */
+\tdo {
+\t\terr = seamcall(TDH_SYS_DISABLE, &args);
+\t} while (err == TDX_OPERAND_BUSY);
+
+\tif (err != TDX_SUCCESS) {
+\t\tpr_err("failed: %llx\\n", err);
+\t\treturn -EIO;
+\t}
+\treturn 0;
 }
-- 
2.47.0
"""


def _warm_up() -> None:
    """Check the sample once; then import every rule and compile every
    pattern, so that no child does. Patterns come from and go to the
    user's cache as for any b4 check command."""
    from .common import compile_all, keep_programs
    from .lint import all_rules

    keep_programs()
    _check_sample()
    all_rules()
    compile_all()


def _check_sample() -> None:
    """Run the b4 check commands on the sample, output thrown away. In a
    forked child this also copies the pages a check writes to (reference
    counts change on every object it touches) while the child waits,
    instead of while a caller waits: a third less time for the patch."""
    import io

    from . import cli

    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.TextIOWrapper(io.BytesIO(_SAMPLE), encoding="utf-8")
    sys.stdout = sys.stderr = io.StringIO()
    try:
        for argv in (["b4-check"], ["b4-review-check"]):
            try:
                sys.stdin.buffer.seek(0)
                cli.main(argv)
            except BaseException:  # noqa: BLE001 - a failed warm-up only makes the first patch slower
                pass
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def _child(conn, stamp: tuple, log: _Log) -> None:
    """Take the caller's settings, say READY, take its streams with GO, run
    the command, send its status. Leaves the process with os._exit."""
    import signal

    status = 1
    try:
        request = _read_request(conn)
        if request is None:
            os._exit(0)  # the caller runs the check itself
        protocol, their_stamp, argv, cwd, env, umask, streams, encodings = request
        if tuple(their_stamp) != stamp:
            # The caller sees other files than this worker loaded: an
            # upgrade or an edit. It runs the check itself and starts a new
            # worker, which waits for this one to leave.
            conn.sendall(STALE)
            log.say("tdxbot's files changed since this worker started: leaving")
            os.kill(os.getppid(), signal.SIGTERM)
            os._exit(0)
        if protocol != PROTOCOL or not argv or argv[0] not in COMMANDS or encodings != _encodings():
            log.say("not served: another protocol, command or text encoding; the caller checks it")
            os._exit(0)
        os.chdir(cwd)
        os.environ.clear()
        os.environb.update(env)
        os.umask(umask)
        sys.argv = ["tdxbot", *argv]
        conn.sendall(READY + os.getpid().to_bytes(4, "big"))
        fds = _go_ahead(conn)
        if fds is None:
            os._exit(0)  # the caller gave up waiting and checks the patch itself
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        _new_streams(*streams)
        import gc

        gc.enable()  # as in a fresh process; b4-check turns it off again
    except BaseException:  # noqa: BLE001 - an unanswered caller runs the check itself
        os._exit(0)
    try:
        from .cli import main

        status = main()
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - cli.main answers every error but with TDXBOT_DEBUG
        import traceback

        traceback.print_exc()  # what the interpreter prints for an uncaught exception
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        conn.sendall(int(status).to_bytes(4, "big", signed=True))
    except (OSError, OverflowError):
        pass
    os._exit(0)


def _read_request(conn):
    """The caller's request, or None when it is not a well-formed one."""
    conn.settimeout(READY_SECONDS)
    head = _receive(conn, 4)
    size = int.from_bytes(head, "big")
    if len(head) < 4 or size > MAX_REQUEST:
        return None
    body = _receive(conn, size)
    if len(body) < size:
        return None
    try:
        fields = marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(fields, tuple) or len(fields) != 8:
        return None
    return fields


def _go_ahead(conn) -> list[int] | None:
    """The caller's stdin, stdout and stderr, sent with GO; None when the
    caller is gone or sent anything else."""
    import array
    import socket

    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(3 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    if data != GO or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None
    return list(fds)


def _new_streams(settings: tuple, stdout_tty: bool) -> None:
    """sys.stdin, stdout and stderr on descriptors 0 to 2, made as Python
    makes them at start for the caller's settings."""
    (in_enc, in_err), (out_enc, out_err), (err_enc, err_err) = settings
    sys.stdin = open(0, "r", encoding=in_enc, errors=in_err, closefd=False)
    sys.stdout = open(1, "w", encoding=out_enc, errors=out_err, closefd=False,
                      buffering=-1, newline=None)
    if stdout_tty:
        sys.stdout.reconfigure(line_buffering=True)
    sys.stderr = open(2, "w", encoding=err_enc, errors=err_err, closefd=False)
    sys.stderr.reconfigure(line_buffering=True)
    if os.environ.get("PYTHONUNBUFFERED"):  # as `python -u`: each write goes out at once
        import io

        sys.stdout = io.TextIOWrapper(open(1, "wb", buffering=0, closefd=False), encoding=out_enc,
                                      errors=out_err, write_through=True)
        sys.stderr = io.TextIOWrapper(open(2, "wb", buffering=0, closefd=False), encoding=err_enc,
                                      errors=err_err, write_through=True)
