"""Stop-the-world pauses of the stack's JVMs (the MongoDB-protocol stand-in, Kafka) during a load run,
and how many slow acceptances overlapped one: `tests.bench.load --gc-log`.

Each JVM logs its collections (`-Xlog:gc,gc+cpu`, through OMS_MONGO_JVM_EXTRA_OPTS and
OMS_KAFKA_JVM_EXTRA_OPTS, which deploy/local/infra.sh appends to the JVM's options) to a file under
the bench stack's directory. A pause is read back as [end - duration, end] on the wall clock (the
log's `time` decoration is when the line was written: at the pause's end) with its CPU (`User` +
`Sys` of the collection): on a machine shared with other work the wall duration stretches, the CPU
does not, and with the serial collector (one thread) the CPU is what the pause lasts on a quiet one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

JVMS = ("mongo", "kafka")
_PAUSE = re.compile(r"^\[(?P<time>[^\]]+)\].*GC\((?P<id>\d+)\) Pause (?P<kind>[A-Za-z]+).* (?P<ms>[\d.]+)ms$")
_CPU = re.compile(r"GC\((?P<id>\d+)\) User=(?P<user>[\d.]+)s Sys=(?P<sys>[\d.]+)s Real=[\d.]+s")


@dataclass(frozen=True)
class Pause:
    start: float  # wall clock, s
    end: float
    kind: str  # Young, Full, Remark, Cleanup …
    cpu_ms: float | None  # the collection's CPU (all its threads), when logged

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


def log_options(path: Path) -> str:
    """The JVM option that writes its collections and their CPU to `path`."""
    return f"-Xlog:gc,gc+cpu:file={path}:uptime,time"


def read(path: Path) -> list[Pause]:
    """The pauses of a JVM's log (`log_options`); none if there is no log."""
    if not path.exists():
        return []
    ends: dict[int, tuple[float, float, str]] = {}
    cpu: dict[int, float] = {}
    for line in path.read_text(errors="replace").splitlines():
        if m := _PAUSE.match(line):
            end = datetime.fromisoformat(m["time"].replace("+0000", "+00:00")).timestamp()
            ends[int(m["id"])] = (end - float(m["ms"]) / 1000, end, m["kind"])
        elif m := _CPU.search(line):
            cpu[int(m["id"])] = (float(m["user"]) + float(m["sys"])) * 1000
    return [Pause(start, end, kind, cpu.get(gc)) for gc, (start, end, kind) in sorted(ends.items())]


def summary(pauses: list[Pause], start: float, end: float) -> dict[str, Any]:
    """The pauses that overlapped [start, end]: how many, how long (wall and CPU), by kind."""
    inside = [p for p in pauses if p.end >= start and p.start <= end]
    by_kind: dict[str, dict[str, Any]] = {}
    for p in inside:
        k = by_kind.setdefault(p.kind, {"count": 0, "ms": 0.0, "max_ms": 0.0, "cpu_ms": 0.0, "max_cpu_ms": 0.0})
        k["count"] += 1
        k["ms"] = round(k["ms"] + p.ms, 1)
        k["max_ms"] = round(max(k["max_ms"], p.ms), 1)
        k["cpu_ms"] = round(k["cpu_ms"] + (p.cpu_ms or 0), 1)
        k["max_cpu_ms"] = round(max(k["max_cpu_ms"], p.cpu_ms or 0), 1)
    return {
        "count": len(inside),
        "ms": round(sum(p.ms for p in inside), 1),
        "cpu_ms": round(sum(p.cpu_ms or 0 for p in inside), 1),
        "by_kind": by_kind,
    }


def overlapping(intervals: list[tuple[float, float]], pauses: list[Pause]) -> int:
    """How many of the intervals (wall clock, s) overlap at least one pause."""
    ordered = sorted(pauses, key=lambda p: p.start)
    count = 0
    for start, end in intervals:
        if any(p.end >= start and p.start <= end for p in ordered):
            count += 1
    return count


def report(
    logs: dict[str, Path], window: tuple[float, float], accepts: list[tuple[float, float]], slow_ms: float = 50
) -> dict[str, Any]:
    """Per JVM: its pauses in the measured window, and the acceptances (sent, answered) slower than
    `slow_ms` that overlapped one of its pauses (or any JVM's, under `any`)."""
    slow = [(sent, done) for sent, done in accepts if (done - sent) * 1000 > slow_ms]
    out: dict[str, Any] = {"slow_ms": slow_ms, "slow_accepts": len(slow)}
    every: list[Pause] = []
    for name, path in logs.items():
        pauses = read(path)
        every.extend(pauses)
        out[name] = {**summary(pauses, *window), "slow_accepts_overlapping": overlapping(slow, pauses)}
    out["slow_accepts_overlapping_any"] = overlapping(slow, every)
    return out


def summary_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for name in JVMS:
        r = report.get(name)
        if r is None:
            continue
        kinds = ", ".join(
            f"{kind} {k['count']} (max {k['max_ms']:.0f} ms, CPU {k['cpu_ms']:.0f} ms, max {k['max_cpu_ms']:.0f})"
            for kind, k in r["by_kind"].items()
        )
        lines.append(f"  {name} GC pauses in the window: {r['count']}, {r['ms']:.0f} ms: {kinds or 'none'}")
    lines.append(
        f"  accepts slower than {report['slow_ms']:.0f} ms: {report['slow_accepts']}, overlapping a JVM pause: "
        + ", ".join(f"{n} {report[n]['slow_accepts_overlapping']}" for n in JVMS if n in report)
        + f", any {report['slow_accepts_overlapping_any']}"
    )
    return lines
