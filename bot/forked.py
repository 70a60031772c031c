"""Split a list of independent jobs between this process and one forked
child: the child works the tail of the list and sends its results back
(pickled) when it is done, the parent works the head meanwhile. Results come
back in list order, whichever process made them.

fork shares everything the parent has loaded (rules, parsed headers, raw
mails) without copying or pickling it; only the results cross the pipe. A
child that dies or sends nothing leaves its jobs to the parent, so the
outcome never depends on the child.
"""
from __future__ import annotations

import os
import pickle
import sys
from typing import Callable, Sequence, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def work_split(jobs: Sequence[Job], work: Callable[[Job], Result], cut: int) -> list[Result]:
    """[work(job) for job in jobs], jobs[cut:] worked by a forked child.
    work must not print: the child's output would interleave with ours."""
    if not hasattr(os, "fork") or not 0 < cut < len(jobs):
        return [work(job) for job in jobs]
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: its results, then out without running exit handlers
        status = 1
        try:
            os.close(read_end)
            results = [work(job) for job in jobs[cut:]]
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(results, out, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        except BaseException:  # noqa: BLE001 - the parent notices and does the work itself
            pass
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        head = [work(job) for job in jobs[:cut]]
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _pid, status = os.waitpid(pid, 0)
        pid = 0
    finally:
        if pid:  # the parent failed: the child's work is of no use
            _stop(pid)
    tail = None
    if status == 0:
        try:
            tail = pickle.loads(data)
        except Exception:  # noqa: BLE001 - a cut-short pickle: do the work here
            tail = None
    if tail is None or len(tail) != len(jobs) - cut:
        tail = [work(job) for job in jobs[cut:]]
    return head + tail


def _stop(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def balanced_cut(sizes: Sequence[int], share: float = 0.5) -> int:
    """Where to cut jobs of these sizes so the head holds `share` of the
    total (the parent's part)."""
    total = sum(sizes)
    done = 0
    for i, size in enumerate(sizes):
        if done + size / 2 > total * share:
            return i
        done += size
    return len(sizes)
