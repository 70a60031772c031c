"""Share a list of independent jobs between this process and one forked
child. Both take the next few jobs from a queue until it is empty, so the
two finish together even when the machine gives one of them less time; the
child sends its results back (pickled) at the end. Results come back in
list order, whichever process made them.

fork shares everything the parent has loaded (rules, parsed headers, raw
mails) without copying or pickling it; only the results cross a pipe. The
queue is a pipe of chunk numbers, each four bytes: a read of four bytes
takes exactly one, whoever reads it. Jobs the child took but did not send
back (it died) are done by the parent, so the outcome never depends on the
child.
"""
from __future__ import annotations

import os
import struct
import sys
from contextlib import contextmanager
from collections.abc import Callable, Sequence

TYPE_CHECKING = False  # typing's constant, without importing typing
if TYPE_CHECKING:
    from typing import TypeVar

    Job = TypeVar("Job")
    Result = TypeVar("Result")

CHUNK = 8  # jobs taken at a time
_RECORD = struct.Struct("<I")
_QUEUE_BYTES = 32768  # well within what a pipe holds with no reader (64 KiB on Linux)


def work_shared(jobs: Sequence[Job], work: Callable[[Job], Result], fork: bool = True) -> list[Result]:
    """[work(job) for job in jobs], shared with a forked child when fork.
    work must not print: the child's output would interleave with ours."""
    import pickle

    if not fork or not hasattr(os, "fork") or len(jobs) < 2:
        return [work(job) for job in jobs]
    size = max(CHUNK, -(-len(jobs) * _RECORD.size // _QUEUE_BYTES))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    queue_read, queue_write = os.pipe()
    os.write(queue_write, b"".join(_RECORD.pack(i) for i in range(len(chunks))))
    os.close(queue_write)  # an empty queue reads as end of file
    result_read, result_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: its results, then out without running exit handlers
        status = 1
        try:
            os.close(result_read)
            done = _drain(queue_read, chunks, work)
            with os.fdopen(result_write, "wb") as out:
                pickle.dump(done, out, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        except BaseException:  # noqa: BLE001 - the parent notices and does the work itself
            pass
        finally:
            os._exit(status)
    os.close(result_write)
    try:
        done = _drain(queue_read, chunks, work)
        os.close(queue_read)
        with os.fdopen(result_read, "rb") as pipe:
            data = pipe.read()
        _pid, status = os.waitpid(pid, 0)
        pid = 0
    finally:
        if pid:  # the parent failed: the child's work is of no use
            _stop(pid)
    if status == 0:
        try:
            done.update(pickle.loads(data))
        except Exception:  # noqa: BLE001 - a cut-short pickle: the parent does those jobs
            pass
    out: list[Result] = []
    for number, chunk in enumerate(chunks):
        out += done[number] if number in done else [work(job) for job in chunk]
    return out


def _drain(queue: int, chunks: list, work) -> dict[int, list]:
    """Work chunk after chunk from the queue until it is empty."""
    done = {}
    while len(record := os.read(queue, _RECORD.size)) == _RECORD.size:
        number = _RECORD.unpack(record)[0]
        done[number] = [work(job) for job in chunks[number]]
    return done


def _stop(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


@contextmanager
def collector_resting():
    """What is loaded before the work (rules, the mails read) is frozen
    out of the garbage collector, and the collector rests while thread
    after thread, or patch after patch, is reviewed: what a review makes
    is freed as soon as it is dropped (the rules' per-file objects hold no
    reference cycles, and each patch's parsed files go once it is
    checked), so a pass would only walk live objects, and a forked child
    would copy the pages it touched.
    bench/mbox_speed.py measures the memory this keeps flat."""
    import gc

    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()
