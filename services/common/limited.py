"""`run_limited`: call a function in a child process under a wall-clock, memory and CPU limit.

For work a caller hands us that may never end or may grow without bound (a policy simulation over a
candidate anyone with a report key can post): over a limit the child is killed (with any process it
started), the caller gets `LimitExceeded` naming the limit, and nothing of the child is left. However
the child ends, the calling process goes on.

The child is a fresh `spawn` process (not a fork of a server with threads and an event loop) in a
session of its own, so killing its process group also ends the processes it started. Memory is its
address space (`RLIMIT_AS`, inherited by its own children, each counted alone); CPU is `RLIMIT_CPU`
seconds, after which the kernel ends it with SIGXCPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Limits:
    wall_s: float
    memory_bytes: int | None = None
    cpu_s: float | None = None

    def describe_wall(self) -> str:
        return _duration(self.wall_s)

    def describe_memory(self) -> str:
        return _size(self.memory_bytes or 0)

    def describe_cpu(self) -> str:
        return f"{_duration(self.cpu_s or 0)} of CPU time"


class LimitExceeded(Exception):
    """The child went over a limit and was ended; the message says which ("exceeded 10 minutes")."""


class ChildDied(Exception):
    """The child ended without an answer (killed from outside, crashed)."""


async def run_limited(func: Callable[..., Any], *args: Any, limits: Limits) -> Any:
    """`func(*args)` in a limited child: its return value, or the exception it raised (re-raised here),
    or LimitExceeded / ChildDied. `func`, its arguments and its result must be picklable."""
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(writer, func, args, limits), daemon=True)
    child.start()
    writer.close()
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(reader.fileno(), ready.set)
    loop.add_reader(child.sentinel, ready.set)
    try:
        try:
            await asyncio.wait_for(ready.wait(), timeout=limits.wall_s)
        except TimeoutError:
            raise LimitExceeded(f"exceeded {limits.describe_wall()}") from None
        finally:
            loop.remove_reader(reader.fileno())
            loop.remove_reader(child.sentinel)
        answer = await loop.run_in_executor(None, _receive, reader) if reader.poll() else None
    finally:
        exitcode = _end(child)
        reader.close()
    if answer is None:
        raise _death(exitcode, limits)
    status, value = answer
    if status == "ok":
        return value
    if status == "memory":
        raise LimitExceeded(f"exceeded {limits.describe_memory()} of memory")
    if not isinstance(value, Exception):  # SystemExit and the like end the child, never the caller
        raise ChildDied(f"the worker process stopped: {type(value).__name__}: {value}")
    raise value


def _receive(reader: Connection) -> tuple[str, Any] | None:
    try:
        return reader.recv()
    except (EOFError, OSError):  # the child died while it was writing
        return None


def _end(child: multiprocessing.process.BaseProcess) -> int | None:
    """Kill the child's whole process group (itself and what it started), reap it: its exit code."""
    if child.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    if child.is_alive():  # it had not yet made its own group
        child.kill()
        child.join(timeout=10)
    exitcode = child.exitcode
    child.close()
    return exitcode


_CRASHES = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT})


def _death(exitcode: int | None, limits: Limits) -> Exception:
    if exitcode == -signal.SIGXCPU and limits.cpu_s is not None:
        return LimitExceeded(f"exceeded {limits.describe_cpu()}")
    if exitcode is not None and -exitcode in _CRASHES and limits.memory_bytes is not None:
        # under RLIMIT_AS an allocation that fails in C code (a thread stack, an extension that does
        # not check malloc) can crash the child instead of raising MemoryError: the cap is the likely cause
        name = signal.Signals(-exitcode).name
        return LimitExceeded(
            f"exceeded {limits.describe_memory()} of memory (the worker process was ended by {name})"
        )
    if exitcode is not None and exitcode < 0:
        return ChildDied(f"the worker process was ended by {signal.Signals(-exitcode).name}")
    return ChildDied(f"the worker process exited with status {exitcode} without an answer")


def _child(writer: Connection, func: Callable[..., Any], args: tuple[Any, ...], limits: Limits) -> None:
    os.setsid()  # a process group of its own: ending it ends what it started too
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if limits.memory_bytes is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, hard))
    if limits.cpu_s is not None:
        seconds = max(1, round(limits.cpu_s))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))  # soft: SIGXCPU; hard: SIGKILL
    try:
        answer: tuple[str, Any] = ("ok", func(*args))
    except BaseException as exc:  # whatever it was, the caller is told
        answer = ("memory", None) if limits.memory_bytes and _out_of_memory(exc) else ("raised", exc)
    # lift the soft memory limit again: sending the answer needs memory too (the work is done)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        if answer[0] == "raised":
            pickle.loads(pickle.dumps(answer[1]))  # an exception the caller could not rebuild
        writer.send(answer)
    except Exception as exc:  # an unpicklable result or exception: still say what happened
        what = answer[1] if answer[0] == "raised" else exc
        writer.send(("raised", RuntimeError(f"{type(what).__name__}: {what}")))
    writer.close()


_OUT_OF_MEMORY_WORDS = ("can't start new thread", "error return without exception set")


def _out_of_memory(exc: BaseException | None) -> bool:
    """A MemoryError anywhere in the chain (libraries wrap it), a thread that could not get its stack,
    or a C extension whose failed allocation left "error return without exception set" (libyaml, seen
    once in CI, wrapped by the policy loader into its words): what running into the address-space limit
    looks like from Python."""
    seen = 0
    while exc is not None and seen < 20:
        words = str(exc)
        if isinstance(exc, MemoryError) or any(w in words for w in _OUT_OF_MEMORY_WORDS):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"


def _size(n: int) -> str:
    gb, mb = 1024**3, 1024**2
    if n >= gb and n % gb == 0:
        return f"{n // gb} GB"
    return f"{n / mb:g} MB"
