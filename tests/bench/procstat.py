"""CPU time and memory of processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    cpu_ms: dict[str, float]  # utime + stime of each process, since it started
    rss_mib: dict[str, float]


def cpu_ms(pid: int) -> float | None:
    read = stat_cpu_ms(f"/proc/{pid}/stat")
    return None if read is None else read[1]


def stat_cpu_ms(path: str) -> tuple[str, float] | None:
    """(command name, utime + stime in ms) from a process's or a thread's `stat` file; None once it is gone."""
    try:
        with open(path) as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return stat[stat.index("(") + 1 : stat.rindex(")")], (utime + stime) * 1000 / TICKS


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20
    except OSError:
        return None


def sample(pids: dict[str, int]) -> Sample:
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    for name, pid in pids.items():
        c, r = cpu_ms(pid), rss_mib(pid)
        if c is not None and r is not None:
            cpu[name], rss[name] = c, r
    return Sample(time.monotonic(), cpu, rss)


def cpu_between(before: Sample, after: Sample) -> dict[str, float]:
    """CPU ms each process used between two samples (a process restarted in between is left out)."""
    return {
        name: after.cpu_ms[name] - before.cpu_ms[name]
        for name in after.cpu_ms
        if name in before.cpu_ms and after.cpu_ms[name] >= before.cpu_ms[name]
    }


def machine_busy() -> tuple[float, float]:
    """CPU ms the whole machine was busy, and elapsed CPU ms (all CPUs), since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) * 1000 / TICKS, total * 1000 / TICKS
