#!/usr/bin/env bash
# `make run`: the whole OMS on this machine — infra, the Procfile's processes under supervisord (a
# process that dies is restarted, as Kubernetes would), demo data.
# Ctrl-C stops everything; running it again reuses the data under .local/.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO_ROOT"
export PATH="$REPO_ROOT/.venv/bin:$PATH"
started=$(date +%s.%N)

# One OMS per checkout: a second `make run` would find the ports taken and, worse, its readiness
# check would be answered by the first one. `make stop` stops the one recorded here.
pidfile="$REPO_ROOT/.local/run.pid"
mkdir -p "$REPO_ROOT/.local"
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "make run: the OMS is already running (pid $(cat "$pidfile")); 'make stop' stops it" >&2
  exit 1
fi
echo $$ >"$pidfile"

bash deploy/local/infra.sh start          # before stack.env.sh: an unset OMS_KAFKA_BOOTSTRAP means "ours"
source deploy/local/stack.env.sh
mkdir -p "$OMS_MAILDIR"/{tmp,new,cur}   # the SMTP sink's maildir (deploy/local/mail_sink.py)

python -m oms_runtime.topics
python -m oms_gateway bootstrap-shop --slug demo --name "Demo shop" --currency RUB \
  --admin-email admin@demo.shop --admin-password demo-admin-pass \
  --staff "manager:manager@demo.shop:demo-manager-pass" \
  --staff "warehouse:warehouse@demo.shop:demo-warehouse-pass" \
  --staff "courier:courier@demo.shop:demo-courier-pass" \
  --api-key "demo.storefront-secret-key"

# Every process's output goes to this terminal (each log line names its service).
supervisor_conf=$(python -m deploy.local.supervise config --dir "$OMS_LOCAL_DIR/supervisor")
supervisord -c "$supervisor_conf" &
supervisor_pid=$!

stopping=0
stop_all() {
  [[ $stopping == 1 ]] && return
  stopping=1
  echo; echo "stopping the OMS…"
  # supervisord stops every process (TERM, KILL after its stopwaitsecs) before it exits.
  kill -TERM "$supervisor_pid" 2>/dev/null || true
  wait "$supervisor_pid" 2>/dev/null || true
  bash deploy/local/infra.sh stop
  rm -f "$pidfile"
}
trap 'stop_all; exit 0' INT TERM   # asked to stop (Ctrl-C, make stop): not a failure
trap stop_all EXIT

python -m deploy.local.wait_ready --timeout 120
python deploy/local/seed_demo.py
python -m deploy.local.banner --since "$started"
wait "$supervisor_pid"
