"""The local supervisor's shutdown leaves nothing behind, even when supervisord does not stop in time.

supervisord starts each program in a process group of its own; when the shutdown gives up waiting
and kills supervisord, the programs must go too (a killed load run once left its services holding
the stack's ports, and the next run measured nothing).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from oms_testing import eventually

from deploy.local.supervise import Supervisor, child_pids, running


async def test_a_shutdown_that_times_out_kills_the_programs_too(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    # The program ignores SIGTERM, so supervisord waits its full stop time before it kills it:
    # longer than the shutdown below is willing to wait.
    procfile.write_text("stubborn: trap '' TERM; exec sleep 600\n")
    supervisor = Supervisor(tmp_path / "state", dict(os.environ), procfile=procfile)
    supervisor.start()
    try:
        program = await eventually(lambda: supervisor.pid("stubborn"), what="the program started")
        assert program in child_pids(supervisord_pid(supervisor))
        supervisor.shutdown(timeout=0.5)
        await eventually(lambda: not running(program), timeout=10, what="the program killed")
    finally:
        if supervisor.process is not None and supervisor.process.poll() is None:
            supervisor.process.kill()


async def test_a_new_start_kills_what_a_killed_earlier_run_left_running(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text("sleeper: exec sleep 600\n")
    earlier = Supervisor(tmp_path / "state", dict(os.environ), procfile=procfile)
    earlier.start()
    later = Supervisor(tmp_path / "state", dict(os.environ), procfile=procfile)
    try:
        leftover = await eventually(lambda: earlier.pid("sleeper"), what="the earlier run's program started")
        later.start()  # the earlier run never shut down: as if its process had been SIGKILLed
        assert not running(supervisord_pid(earlier))
        assert not running(leftover)
        fresh = await eventually(lambda: later.pid("sleeper"), what="the new run's program started")
        assert fresh != leftover
    finally:
        later.shutdown(timeout=5)
        if earlier.process is not None and earlier.process.poll() is None:
            earlier.process.kill()


def supervisord_pid(supervisor: Supervisor) -> int:
    assert supervisor.process is not None
    return supervisor.process.pid


def test_child_pids_lists_a_started_child_and_nothing_for_a_gone_process() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in child_pids(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in child_pids(os.getpid())
    assert child_pids(child.pid) == []
