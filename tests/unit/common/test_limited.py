"""`run_limited`: a function in a child process, ended at its wall-clock, memory or CPU limit, and the
caller told why; the caller itself is never taken down."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import psutil
import pytest

from services.common.limited import ChildDied, LimitExceeded, Limits, run_limited
from tests.support import wait_until

pytestmark = pytest.mark.timeout(120)
GENEROUS = Limits(wall_s=60, memory_bytes=2 * 1024**3, cpu_s=60)


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def wait_for_ever(started: str) -> None:
    """Tell the test its pid (so it can check the process is gone), then never return."""
    with open(started, "w") as out:
        out.write(str(os.getpid()))
    while True:
        time.sleep(3600)


def grow() -> None:
    hoard = []
    while True:
        hoard.append(bytearray(16 * 1024 * 1024))


def spin() -> None:
    while True:
        pass


def die() -> None:
    os._exit(7)


async def test_the_result_comes_back() -> None:
    assert await run_limited(add, 2, 3, limits=GENEROUS) == 5


async def test_an_exception_in_the_child_is_raised_in_the_caller() -> None:
    with pytest.raises(ValueError, match="no history"):
        await run_limited(fail, "no history", limits=GENEROUS)


async def test_over_the_wall_clock_the_child_is_gone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    started = tmp_path / "pid"
    await run_limited(add, 1, 1, limits=GENEROUS)  # multiprocessing's own helpers started, if any
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(LimitExceeded, match=r"^exceeded 3 s$"):
        await run_limited(wait_for_ever, str(started), limits=Limits(wall_s=3))
    # killed and reaped, whether or not it had started the function (a loaded machine can take
    # longer than 3 s to spawn it): no child of ours is left, not even a zombie
    assert {p.pid for p in psutil.Process().children(recursive=True)} - before == set()
    if started.exists():
        with pytest.raises(ProcessLookupError):
            os.kill(int(started.read_text()), 0)


async def test_over_the_memory_limit_is_reported_as_memory() -> None:
    limits = Limits(wall_s=60, memory_bytes=512 * 1024**2)
    with pytest.raises(LimitExceeded, match=r"^exceeded 512 MB of memory$"):
        await run_limited(grow, limits=limits)
    assert await run_limited(add, 1, 1, limits=limits) == 2  # the next job runs as before


async def test_over_the_cpu_budget_is_reported_as_cpu() -> None:
    with pytest.raises(LimitExceeded, match=r"^exceeded 1 s of CPU time$"):
        await run_limited(spin, limits=Limits(wall_s=60, cpu_s=1))


async def test_a_child_that_dies_is_reported_not_fatal() -> None:
    with pytest.raises(ChildDied, match="status 7"):
        await run_limited(die, limits=GENEROUS)


def test_limits_read_as_people_say_them() -> None:
    assert Limits(wall_s=600).describe_wall() == "10 minutes"
    assert Limits(wall_s=60, memory_bytes=1024**3).describe_memory() == "1 GB"


async def test_a_child_killed_from_outside_is_reported_not_fatal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    started = tmp_path / "pid"
    job = asyncio.create_task(run_limited(wait_for_ever, str(started), limits=GENEROUS))

    async def running() -> bool:
        return started.exists() and bool(started.read_text())

    await wait_until(running, timeout_s=60, what="the child to start")
    os.kill(int(started.read_text()), signal.SIGKILL)  # as the kernel's OOM killer would
    with pytest.raises(ChildDied, match="ended by SIGKILL"):
        await job


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


async def test_a_crash_under_a_memory_cap_is_reported_as_memory_with_the_signal() -> None:
    capped = Limits(wall_s=60, memory_bytes=512 * 1024**2)
    with pytest.raises(
        LimitExceeded, match=r"^exceeded 512 MB of memory \(the worker process was ended by SIGSEGV\)$"
    ):
        await run_limited(crash, limits=capped)
    with pytest.raises(
        ChildDied, match=r"^the worker process was ended by SIGSEGV$"
    ):  # no cap: a plain crash
        await run_limited(crash, limits=Limits(wall_s=60))


async def test_a_failed_allocation_in_c_code_under_a_memory_cap_is_reported_as_memory() -> None:
    """libyaml under RLIMIT_AS: a SystemError the policy loader words as an invalid YAML value."""
    words = "candidate:1: <root>: invalid YAML value: error return without exception set"
    capped = Limits(wall_s=60, memory_bytes=2 * 1024**3)
    with pytest.raises(LimitExceeded, match="of memory"):
        await run_limited(fail, words, limits=capped)
    with pytest.raises(ValueError, match="error return"):  # without a cap it is what it says
        await run_limited(fail, words, limits=Limits(wall_s=60))
