#!/usr/bin/env bash
# `make stop`: the OMS that `make run` started (from any terminal), then the local servers of
# `make run` and of the tests.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"

pidfile=.local/run.pid
if [[ -f $pidfile ]]; then
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop: the OMS (make run, pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # Its trap stops supervisord (so every service) and the servers; a step running in the foreground (readiness wait,
    # seeding) would delay the trap, so its children are told too.
    pkill -TERM -P "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 90))
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS > deadline)); then
        echo "stop: make run (pid $pid) did not stop within 90 s; killing it" >&2
        pkill -KILL -P "$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.5
    done
  fi
  rm -f "$pidfile"
fi

bash deploy/local/infra.sh stop
OMS_LOCAL_DIR=.local/test OMS_LOCAL_KAFKA_PORT=29092 OMS_LOCAL_KAFKA_CONTROLLER_PORT=29093 \
  OMS_LOCAL_MONGO_PORT=27019 bash deploy/local/infra.sh stop

# A load run (tests/bench/load.py) stops what it starts by itself; this is for one that was killed
# before it could: its supervisord (which stops the services) and its servers.
for dir in .local/bench/*/; do
  pidfile="${dir}supervisor/supervisord.pid"
  if [[ -f $pidfile ]]; then
    pid=$(cat "$pidfile")
    if grep -qs supervisord "/proc/$pid/cmdline"; then
      echo "stop: the supervisord of ${dir} (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 30))
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    fi
  fi
  if [[ -d ${dir}run ]]; then
    OMS_LOCAL_DIR="${dir%/}" bash deploy/local/infra.sh stop
  fi
done
