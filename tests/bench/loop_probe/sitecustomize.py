"""A diagnostic probe for every Python process of a bench stack: where a slow request spent its time.

Not imported by anything: a `sitecustomize` that Python loads at start when this directory is on
PYTHONPATH, active only when TAIL7_PROBE_DIR names a directory for its output (one JSON-lines file
per process, written by a thread once a second):

    PYTHONPATH=tests/bench/loop_probe TAIL7_PROBE_DIR=/tmp/probe \
        .venv/bin/python -m tests.bench.load --rate 50 --duration 60 --idle-seconds 5 --label probe

The bench passes the environment on to the stack it starts. Records (`k`):
- `stall`: the event loop did not run a 5 ms heartbeat for more than 15 ms: its length (`ms`), the
  loop thread's CPU meanwhile (`cpu`: on a busy machine a stall is mostly waiting for a core, the CPU
  is what the process did itself) and up to 40 stacks of the loop thread sampled during it (biased to
  where the thread gave up the GIL: read the outer frames, not the leaf);
- `gc`: a Python collection over 1 ms (and every full one), wall and CPU;
- `http`: a request over 25 ms in uvicorn (from its headers parsed to its answer sent), `queued` until
  the app started on it; `upstream`: the gateway's forwarding of a request over 20 ms;
- `mongo`: a store command over 10 ms (pymongo's command monitoring: the loop's delays included);
- `step` (with TAIL7_ASYNCIO=1, which runs uvicorn on asyncio's loop instead of uvloop so that each
  callback can be timed): a callback or task step over 8 ms of CPU, with the task's await chain
  before and after it.
TAIL7_GC=a,b,c overrides the thresholds the services set (`gc.set_threshold`). Used for the tail7
notes (docs/notes.md); its overhead is small but not nil, so take CPU figures from runs without it.
"""

# ruff: noqa
import os

_DIR = os.environ.get("TAIL7_PROBE_DIR")
if _DIR:
    import json
    import sys
    import threading
    import time
    import traceback
    import gc

    _perf = time.perf_counter
    _wall = time.time
    _events = []
    _lock = threading.Lock()
    _name = " ".join(sys.argv[1:3]) if len(sys.argv) > 1 else sys.argv[0]
    os.makedirs(_DIR, exist_ok=True)
    _path = os.path.join(_DIR, f"{os.getpid()}.jsonl")
    _main_ident = threading.main_thread().ident
    _state = {"beat": 0.0, "stall_start": 0.0, "samples": []}

    def _emit(kind, **kw):
        kw["k"] = kind
        kw["t"] = _wall()
        with _lock:
            _events.append(kw)

    def _writer():
        with open(_path, "a") as f:
            f.write(
                json.dumps(
                    {
                        "k": "proc",
                        "argv": open("/proc/self/cmdline").read().split("\0"),
                        "pid": os.getpid(),
                        "t": _wall(),
                    }
                )
                + "\n"
            )
        while True:
            time.sleep(1.0)
            with _lock:
                batch = _events[:]
                _events.clear()
            if batch:
                with open(_path, "a") as f:
                    for e in batch:
                        f.write(json.dumps(e, default=str) + "\n")

    threading.Thread(target=_writer, daemon=True, name="tail7-writer").start()

    # GC pauses
    _gc = {}

    _tt = time.thread_time

    def _gc_cb(phase, info):
        if phase == "start":
            _gc["t"] = _perf()
            _gc["c"] = _tt()
        else:
            dt = (_perf() - _gc.get("t", _perf())) * 1000
            dc = (_tt() - _gc.get("c", _tt())) * 1000
            if dt > 1.0 or dc > 1.0 or info.get("generation") == 2:
                _emit(
                    "gc", ms=round(dt, 2), cpu=round(dc, 2), gen=info.get("generation"), collected=info.get("collected")
                )

    gc.callbacks.append(_gc_cb)

    if os.environ.get("TAIL7_GC"):
        _want = tuple(int(x) for x in os.environ["TAIL7_GC"].split(","))
        _set = gc.set_threshold

        def _set_threshold(*a):
            _set(*_want)

        gc.set_threshold = _set_threshold

    # Loop stalls: a heartbeat callback every 5 ms; a watchdog thread samples the main thread's stack
    # while the heartbeat is late by more than 15 ms.
    HB = 0.005
    LATE = 0.015

    def _start_heartbeat(loop):
        def beat():
            now = _perf()
            _state["beat"] = now
            _state["beatcpu"] = _tt()
            loop.call_later(HB, beat)

        loop.call_soon(beat)

    def _watchdog():
        clk = time.pthread_getcpuclockid(_main_ident)
        cpu0 = 0.0
        while True:
            time.sleep(0.003)
            beat = _state["beat"]
            if not beat:
                continue
            now = _perf()
            late = now - beat - HB
            if late > LATE:
                if not _state["stall_start"]:
                    _state["stall_start"] = beat + HB
                    cpu0 = _state["beatcpu"]
                    _state["samples"] = []
                frame = sys._current_frames().get(_main_ident)
                if frame is not None and len(_state["samples"]) < 40:
                    st = traceback.extract_stack(frame, limit=30)
                    _state["samples"].append([f"{os.path.basename(s.filename)}:{s.lineno}:{s.name}" for s in st][-18:])
            elif _state["stall_start"]:
                dur = (beat - _state["stall_start"]) * 1000
                _emit(
                    "stall",
                    ms=round(dur, 1),
                    cpu=round((time.clock_gettime(clk) - cpu0) * 1000, 1),
                    ago=round((now - _state["stall_start"]) * 1000, 1),
                    samples=_state["samples"],
                )
                _state["stall_start"] = 0.0

    threading.Thread(target=_watchdog, daemon=True, name="tail7-watchdog").start()

    import asyncio.runners as _runners

    _orig_run = _runners.Runner.run

    def _run(self, coro, *, context=None):
        async def wrapped():
            import asyncio

            _start_heartbeat(asyncio.get_running_loop())
            return await coro

        return _orig_run(self, wrapped(), context=context)

    _runners.Runner.run = _run

    # Slow HTTP cycles (uvicorn httptools)
    def _patch_uvicorn():
        try:
            from uvicorn.protocols.http import httptools_impl as h
        except Exception:
            return
        orig = h.RequestResponseCycle.__init__
        orig_run = h.RequestResponseCycle.run_asgi

        def init(self, *a, **kw):
            orig(self, *a, **kw)
            self._t7_created = _perf()

        async def run_asgi(self, app):
            t1 = _perf()
            try:
                return await orig_run(self, app)
            finally:
                t2 = _perf()
                total = (t2 - self._t7_created) * 1000
                if total > 25:
                    _emit(
                        "http",
                        ms=round(total, 1),
                        queued=round((t1 - self._t7_created) * 1000, 1),
                        path=self.scope.get("path"),
                        method=self.scope.get("method"),
                    )

        h.RequestResponseCycle.__init__ = init
        h.RequestResponseCycle.run_asgi = run_asgi

    def _patch_pymongo():
        try:
            from pymongo import monitoring
        except Exception:
            return

        class L(monitoring.CommandListener):
            def started(self, event):
                pass

            def succeeded(self, event):
                ms = event.duration_micros / 1000
                if ms > 10:
                    _emit("mongo", ms=round(ms, 1), cmd=event.command_name, rid=event.request_id)

            def failed(self, event):
                _emit("mongofail", ms=event.duration_micros / 1000, cmd=event.command_name)

        monitoring.register(L())

    _patch_uvicorn()
    _patch_pymongo()

    if os.environ.get("TAIL7_ASYNCIO"):
        # plain asyncio loop (not uvloop) so that each callback can be timed
        try:
            import uvicorn.config as _uc

            _oi = _uc.Config.__init__

            def _ci(self, *a, **kw):
                kw["loop"] = "asyncio"
                _oi(self, *a, **kw)

            _uc.Config.__init__ = _ci
        except Exception:
            pass
        import asyncio.events as _ae

        _orun = _ae.Handle._run

        def _chain(coro):
            chain = []
            c = coro
            while c is not None and len(chain) < 14:
                f = getattr(c, "cr_frame", None) or getattr(c, "gi_frame", None)
                if f is not None:
                    chain.append(f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}:{f.f_code.co_name}")
                c = getattr(c, "cr_await", None) or getattr(c, "gi_yieldfrom", None)
            return chain

        def _hrun(self):
            cb0 = getattr(self, "_callback", None)
            ow0 = getattr(cb0, "__self__", None)
            co0 = getattr(ow0, "get_coro", lambda: None)() if ow0 is not None else None
            before = _chain(co0) if co0 is not None else None
            c0 = _tt()
            _orun(self)
            dc = (_tt() - c0) * 1000
            if dc > 8:
                cb = getattr(self, "_callback", None)
                owner = getattr(cb, "__self__", None)
                coro = getattr(owner, "get_coro", lambda: None)() if owner is not None else None
                name = getattr(coro, "__qualname__", None) or repr(cb)[:120]
                where = None
                fr = getattr(coro, "cr_frame", None)
                chain = []
                c = coro
                while c is not None and len(chain) < 12:
                    f = getattr(c, "cr_frame", None) or getattr(c, "gi_frame", None)
                    if f is not None:
                        chain.append(f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno}:{f.f_code.co_name}")
                    c = getattr(c, "cr_await", None) or getattr(c, "gi_yieldfrom", None)
                _emit("step", cpu=round(dc, 1), name=name, chain=chain, before=before)

        _ae.Handle._run = _hrun

    def _patch_gateway():
        # lazily, when the gateway module is imported
        import importlib.abc
        import importlib.machinery

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name != "oms_gateway.adapters.outbound.upstream":
                    return None
                sys.meta_path.remove(self)
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                loader = spec.loader
                orig_exec = loader.exec_module

                def exec_module(module):
                    orig_exec(module)
                    U = module.Upstreams
                    orig_send = U.send

                    async def send(self, service, method, path, *a, **kw):
                        t = _perf()
                        try:
                            return await orig_send(self, service, method, path, *a, **kw)
                        finally:
                            ms = (_perf() - t) * 1000
                            if ms > 20:
                                _emit("upstream", ms=round(ms, 1), service=str(service), path=path, method=method)

                    U.send = send

                loader.exec_module = exec_module
                return spec

        sys.meta_path.insert(0, Finder())

    _patch_gateway()
