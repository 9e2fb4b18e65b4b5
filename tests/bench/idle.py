"""The idle stack's CPU over a long window, per process and per thread (issue 8: idle ≤ 20 ms/s).

The load generator's stack (tests/bench/local_stack.py, the same processes `make run` starts without
Prometheus), its shop seeded the same way, left alone for `--settle` seconds, then every process's
CPU read from /proc over `--seconds` — and, per thread, the busiest threads of each process (a JVM
names its threads: `kafka-request-h`, `C1 CompilerThre`…; a Python service's extra threads are
pymongo's, prometheus_client's…). Also the store's round trips and Kafka's messages over the window.

    .venv/bin/python -m tests.bench.idle --settle 60 --seconds 90 [--threads 6]   # ports as for tests.bench.load

`--keep` leaves the stack running afterwards (stop it with `deploy/local/infra.sh stop` under the
same environment and `kill` of its supervisord), for strace or py-spy on one pid.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.bench import procstat, store_work
from tests.bench.load import ADMIN, API_KEY, SHOP, seed_shop
from tests.bench.local_stack import BENCH_DIR, LocalStack, bound_in_time


def thread_cpu_ms(pid: int) -> dict[str, float]:
    """CPU ms of each thread of `pid` since it started, by `name/tid`."""
    out: dict[str, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        read = procstat.stat_cpu_ms(f"/proc/{pid}/task/{tid}/stat")
        if read is not None:
            name, ms = read
            out[f"{name}/{tid}"] = ms
    return out


def threads_between(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """ms/s per thread name (threads of one name summed), busiest first."""
    per_name: dict[str, float] = {}
    for key, ms in after.items():
        used = ms - before.get(key, 0.0)
        name = key.rsplit("/", 1)[0]
        per_name[name] = per_name.get(name, 0.0) + used / seconds
    return dict(sorted(per_name.items(), key=lambda kv: -kv[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settle", type=float, default=60, help="seconds left alone after seeding")
    parser.add_argument("--seconds", type=float, default=60, help="the measured quiet window")
    parser.add_argument("--threads", type=int, default=6, help="busiest threads shown per process")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)

    watchdog = bound_in_time("idle", 600 + args.settle + args.seconds)
    stack = LocalStack("idle")
    try:
        print(f"idle: starting the stack under {stack.local_dir}…", file=sys.stderr, flush=True)
        stack.start(shop=SHOP, api_key=API_KEY, admin=ADMIN)
        seed_shop(stack.gateway, "auto")
        print(f"idle: settling {args.settle:.0f} s…", file=sys.stderr, flush=True)
        time.sleep(args.settle)
        pids = stack.pids()
        mongo_url = stack.env["OMS_MONGO_URL"]
        store_before = store_work.store_counters(mongo_url)
        before = procstat.sample(pids)
        threads_before = {name: thread_cpu_ms(pid) for name, pid in pids.items()}
        time.sleep(args.seconds)
        after = procstat.sample(pids)
        threads_after = {name: thread_cpu_ms(pid) for name, pid in pids.items()}
        store = store_work.store_work(store_before, store_work.store_counters(mongo_url), after.at - before.at)
    finally:
        watchdog.cancel()
        if not args.keep:
            print("idle: stopping the stack…", file=sys.stderr, flush=True)
            stack.stop()
    seconds = after.at - before.at
    processes = {n: round(ms / seconds, 2) for n, ms in procstat.cpu_between(before, after).items()}
    threads = {
        n: {t: round(v, 2) for t, v in threads_between(threads_before[n], threads_after[n], seconds).items()}
        for n in pids
    }
    total = sum(processes.values())
    print(f"idle stack {total:.1f} ms/s over {seconds:.0f} s (settled {args.settle:.0f} s), load avg {os.getloadavg()}")
    for name, ms in sorted(processes.items(), key=lambda kv: -kv[1]):
        top = list(threads.get(name, {}).items())[: args.threads]
        shown = ", ".join(f"{t} {v:.1f}" for t, v in top if v >= 0.05)
        print(f"  {name:<13}{ms:>7.2f}   {shown}")
    print("\n".join(store_work.summary_lines(store, {}, unit="s idle", top=12)))
    print("  round trips/s by command: " + ", ".join(f"{k} {v}" for k, v in list(store["commands"].items())[:16]))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + (f"-{args.label}" if args.label else "")
    out = Path(BENCH_DIR) / f"idle-{stamp}.json"
    out.write_text(
        json.dumps(
            {"seconds": seconds, "settle": args.settle, "processes": processes, "threads": threads, "store": store},
            indent=2,
            default=str,
        )
    )
    print(f"written: {out}")


if __name__ == "__main__":
    main()
