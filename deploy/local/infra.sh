#!/usr/bin/env bash
# Local infrastructure for OMS without Docker: Apache Kafka (KRaft) and mongo-java-server
# (MongoDB wire protocol, H2 MVStore file) on the JVM, from jars Maven Central serves.
#
#   deploy/local/infra.sh install | start | stop | status | logs [-f] [kafka|mongo] | env | reset
#
# See deploy/local/README.md for the layout, the environment variables and troubleshooting.
set -euo pipefail

# ---- versions (changing one re-installs into a new cache dir) ------------------------------
KAFKA_VERSION=4.1.1
SCALA_VERSION=2.13
LOG4J_VERSION=2.24.3          # log4j-slf4j-impl: SLF4J 1.x binding so the broker logs (matches Kafka's log4j-core)
MJS_VERSION=1.47.0            # de.bwaldvogel:mongo-java-server-h2-backend
SLF4J_SIMPLE_VERSION=2.0.17   # SLF4J 2.x provider so mongo-java-server logs (matches its slf4j-api)
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# ---- locations and settings ------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
CACHE_DIR="${OMS_CACHE_DIR:-${HOME:-/tmp}/.cache/oms}"
LOCAL_DIR="${OMS_LOCAL_DIR:-$REPO_ROOT/.local}"
BIND_HOST=127.0.0.1
KAFKA_PORT="${OMS_LOCAL_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${OMS_LOCAL_KAFKA_CONTROLLER_PORT:-19093}"
MONGO_PORT="${OMS_LOCAL_MONGO_PORT:-27018}"
START_TIMEOUT="${OMS_INFRA_START_TIMEOUT:-90}"   # seconds, per server
STOP_TIMEOUT="${OMS_INFRA_STOP_TIMEOUT:-30}"     # seconds, per server, then SIGKILL
JAVA="${OMS_JAVA:-java}"
JAVAC="${OMS_JAVAC:-javac}"
MVN="${OMS_MVN:-mvn}"
# C1 only (-XX:TieredStopAtLevel=1): for the stacks this script runs (tests, make run, make load),
# C2's own compiling outweighs its faster code - its compiler threads were most of each JVM's idle CPU
# and, over a 200-order load run, C1-only used less CPU per order in both JVMs (docs/notes.md,
# "standin"; ADR 0001). For a long-running benchmark, pass the options without it to get C2 back.
# SerialGC keeps RSS low (Kafka; the stand-in collects its young generation on both cores, below).
# A quiet idle JVM: no perf-data file, so no sampling of its counters every 50 ms (jps no longer lists
# the servers; jcmd <pid> still works), and idle monitors deflated every 2 s instead of checked every
# 250 ms (docs/notes.md, "idle").
IDLE_JVM_OPTS="-XX:-UsePerfData -XX:+UnlockDiagnosticVMOptions -XX:AsyncDeflationInterval=2000"
KAFKA_JVM_OPTS="${OMS_KAFKA_JVM_OPTS:--Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true $IDLE_JVM_OPTS}"
# The stand-in keeps its indexes and a page cache of decoded documents on the heap. At 512 MB it died of
# OutOfMemoryError after ~5 min at ~50 orders/s: its cache counted documents at a sixth of their real
# size and its indexes took ~1.7 KB per document. The cache is now counted in real bytes and the indexes
# take ~1 KB per document (docs/notes.md, "jvm").
# A heap that does not stop the stack (docs/notes.md, "sustain7"; ADR 0001's amendment "a heap without
# full collections"): with a 256 MB page cache every decoded document lived ~15 s in the cache, long
# enough to be promoted, and died in the old generation (~136 KB promoted per order); the Serial
# collector then stopped the stand-in - and every service waiting on it - for 1-4 s per full collection
# whenever the old generation filled, and the heap, started at 32 MB, grew only through full collections.
# Now: a small cache (its documents die young; 8 MB since the lead's seventh-round check: the young pauses at
# 50 orders/s 124 -> 101 ms at most, no CPU cost at c64), a fixed young generation whose survivor spaces hold it
# (-Xmn384m, SurvivorRatio=4: 256 MB eden, 64 MB survivors), what survives two young collections promoted
# (MaxTenuringThreshold=2: the indexes' new entries stay for good, copying them 15 times only lengthened
# each young pause), and the whole heap reserved from the start (-Xms = -Xmx), so that the old generation
# holds only what stays (the indexes, ~30-40 KB per order in the load bench) and a 5-minute run at 100
# orders/s has no full collection. Only pages the JVM touches are resident: the reserved old generation
# costs no memory until something is promoted into it (idle RSS unchanged, ~60-70 MB).
# The young collections on both cores (ParallelGC, its sizes fixed as above: no adaptive resizing): the
# same CPU as the Serial collector's but about half the wall pause - a placement waits for each one
# (at 50 orders/s the longest 114/65 ms -> 57-64 ms; docs/performance.md, "Eighth round"). No threads
# run between collections, so the idle stack pays nothing for them.
MONGO_JVM_OPTS="${OMS_MONGO_JVM_OPTS:--Xms2g -Xmx2g -Xmn384m -XX:SurvivorRatio=4 -XX:TargetSurvivorRatio=90 -XX:MaxTenuringThreshold=2 -XX:+UseParallelGC -XX:-UseAdaptiveSizePolicy -XX:ParallelGCThreads=2 -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true $IDLE_JVM_OPTS}"
export OMS_MONGO_CACHE_MB="${OMS_MONGO_CACHE_MB:-8}"
# Appended to the options above (not replacing them), e.g. a GC log: -Xlog:gc*:file=/tmp/gc-mongo.log
# (the load bench's --gc-log sets them and reports the pauses in its window).
KAFKA_JVM_OPTS="$KAFKA_JVM_OPTS ${OMS_KAFKA_JVM_EXTRA_OPTS:-}"
MONGO_JVM_OPTS="$MONGO_JVM_OPTS ${OMS_MONGO_JVM_EXTRA_OPTS:-}"

KAFKA_HOME="$CACHE_DIR/kafka-$KAFKA_VERSION"
MJS_HOME="$CACHE_DIR/mongo-java-server-$MJS_VERSION"
LAUNCHER_SRC="$SCRIPT_DIR/mongo/OmsMongoServer.java"
# Beside it, in mongo-java-server's own package to reach its package-private update code (not a patch of it).
LAUNCHER_SRCS=("$LAUNCHER_SRC" "$SCRIPT_DIR/mongo/OmsWire.java"
    "$SCRIPT_DIR/mongo/de/bwaldvogel/mongo/backend/OmsSharedUpdates.java")

log() { printf 'infra: %s\n' "$*" >&2; }
die() { printf 'infra: ERROR: %s\n' "$*" >&2; exit 1; }

abs_local_dir() {
    mkdir -p "$LOCAL_DIR"
    LOCAL_DIR="$(cd "$LOCAL_DIR" && pwd)"
    RUN_DIR="$LOCAL_DIR/run"
    KAFKA_DIR="$LOCAL_DIR/kafka"
    MONGO_DIR="$LOCAL_DIR/mongo"
    mkdir -p "$RUN_DIR"
}

# ---- install ---------------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

check_java() {
    need "$JAVA" "Java 17+ is required"
    local v
    v="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ "${v%%.*}" -ge 17 ]] 2>/dev/null || die "Java 17+ required, '$JAVA' is version '${v:-unknown}'"
}

# maven_fetch <dest-home> <marker-text> <dependency-xml>
# Installs <dest-home>/lib atomically: copies into a temp dir, then renames; a marker file with
# the exact artifact list makes a warm install a no-op (and a changed list a re-install).
maven_fetch() {
    local home="$1" spec="$2" deps="$3" tmp
    if [[ -f "$home/.installed" && "$(cat "$home/.installed")" == "$spec" ]]; then
        log "cached: $home"
        return 0
    fi
    need "$MVN" "Maven is required for 'install'"
    tmp="$(mktemp -d "$CACHE_DIR/.tmp.XXXXXX")"
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>oms.local</groupId><artifactId>oms-infra-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
$deps
  </dependencies>
</project>
EOF
    log "installing $(basename "$home") with Maven ..."
    if ! (cd "$tmp" && "$MVN" -B -q "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
            -DoutputDirectory="$tmp/lib" >"$tmp/mvn.log" 2>&1); then
        tail -n 40 "$tmp/mvn.log" >&2 || true
        rm -rf "$tmp"
        die "Maven failed to fetch the jars for $(basename "$home") (log above)"
    fi
    printf '%s' "$spec" >"$tmp/.installed"
    rm -rf "$home.old"
    [[ -e "$home" ]] && mv "$home" "$home.old"
    mv -T "$tmp" "$home"
    rm -rf "$home.old"
    log "installed $home ($(ls "$home/lib" | wc -l) jars)"
}

install_kafka() {
    maven_fetch "$KAFKA_HOME" \
        "org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION" \
        "    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>"
}

install_mongo() {
    maven_fetch "$MJS_HOME" \
        "de.bwaldvogel:mongo-java-server-h2-backend:$MJS_VERSION org.slf4j:slf4j-simple:$SLF4J_SIMPLE_VERSION" \
        "    <dependency><groupId>de.bwaldvogel</groupId><artifactId>mongo-java-server-h2-backend</artifactId><version>$MJS_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_SIMPLE_VERSION</version></dependency>"
}

launcher_dir() {
    local sha
    sha="$(cat "${LAUNCHER_SRCS[@]}" | sha256sum | cut -c1-12)"
    printf '%s/launcher-%s' "$MJS_HOME" "$sha"
}

install_launcher() {
    local dir tmp
    dir="$(launcher_dir)"
    if [[ -f "$dir/OmsMongoServer.class" ]]; then
        log "cached: $dir"
        return 0
    fi
    need "$JAVAC" "a JDK (javac) is required to compile the Mongo launcher"
    tmp="$(mktemp -d "$MJS_HOME/.tmp.XXXXXX")"
    "$JAVAC" -nowarn --release 17 -cp "$MJS_HOME/lib/*" -d "$tmp" "${LAUNCHER_SRCS[@]}" \
        || { rm -rf "$tmp"; die "javac failed for $LAUNCHER_SRC"; }
    mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"   # a concurrent install may have won
    log "compiled launcher into $dir"
}

installed() {
    [[ -f "$KAFKA_HOME/.installed" && -f "$MJS_HOME/.installed" && -f "$(launcher_dir)/OmsMongoServer.class" ]]
}

cmd_install() {
    check_java
    mkdir -p "$CACHE_DIR"
    exec 8>"$CACHE_DIR/.install.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 300 8 || die "another install holds $CACHE_DIR/.install.lock for more than 300s"
    fi
    install_kafka
    install_mongo
    install_launcher
}

ensure_installed() {
    installed || cmd_install
}

# ---- process helpers -------------------------------------------------------------------------
# A server counts as running when its pid file names a live process whose command line carries
# our instance marker (-Doms.instance=<local dir>), so a recycled pid is never mistaken for it.
pid_of() {
    local f="$RUN_DIR/$1.pid" pid
    [[ -f "$f" ]] || return 1
    pid="$(cat "$f" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-Doms.instance=$LOCAL_DIR/$1 " || return 1
    printf '%s' "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$BIND_HOST/$1") 2>/dev/null; }

launch() {  # launch <name> <logfile> <cmd...>; detached from the caller's session and terminal
    local name="$1" logfile="$2"; shift 2
    local setsid=()
    command -v setsid >/dev/null 2>&1 && setsid=(setsid)
    # 8>&- 9>&-: the servers must not inherit (and so hold forever) the install/instance flocks.
    nohup "${setsid[@]}" "$@" >>"$logfile" 2>&1 </dev/null 8>&- 9>&- &
    local pid=$! i
    printf '%s\n' "$pid" >"$RUN_DIR/$name.pid"
    # Wait until the forked child has exec'd the JVM (its command line carries the marker),
    # so that pid_of does not mistake the not-yet-exec'd fork for a dead server.
    for ((i = 0; i < 50; i++)); do
        pid_of "$name" >/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
}

fail_start() {  # fail_start <name> <log> <reason>
    log "$1 did not become ready: $3"
    log "---- last 40 lines of $2 ----"
    tail -n 40 "$2" >&2 2>/dev/null || true
    [[ "$1" == kafka && -f "$KAFKA_DIR/logs/kafka.out" ]] && { log "---- kafka.out ----"; tail -n 20 "$KAFKA_DIR/logs/kafka.out" >&2 || true; }
    # only kill what this invocation launched, never a server that was already running
    if [[ "$1" == kafka && -n "${LAUNCHED_kafka:-}" || "$1" == mongo && -n "${LAUNCHED_mongo:-}" ]]; then
        stop_one "$1" >/dev/null 2>&1 || true
    fi
    die "$1 failed to start (log: $2)"
}

stop_one() {
    local name="$1" pid i
    if ! pid="$(pid_of "$name")"; then
        rm -f "$RUN_DIR/$name.pid"
        log "$name: not running"
        return 0
    fi
    log "$name: stopping pid $pid ..."
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$RUN_DIR/$name.pid"
    log "$name: stopped"
}

# An OMS_* URL that names this instance's own address is not "external" (so that
# `eval "$(infra.sh env)"` followed by stop/start still manages the local servers).
kafka_url() { printf '%s:%s' "$BIND_HOST" "$KAFKA_PORT"; }
mongo_url() { printf 'mongodb://%s:%s' "$BIND_HOST" "$MONGO_PORT"; }
kafka_external() {
    local v="${OMS_KAFKA_BOOTSTRAP:-}"
    [[ -n "$v" && "$v" != "$(kafka_url)" && "$v" != "localhost:$KAFKA_PORT" ]]
}
mongo_external() {
    local v="${OMS_MONGO_URL:-}" own
    own="$(mongo_url)"
    [[ -n "$v" ]] || return 1
    case "$v" in "$own" | "$own/"* | "$own?"*) return 1 ;; esac
    return 0
}

# ---- Kafka -----------------------------------------------------------------------------------
write_kafka_config() {
    mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs" "$KAFKA_DIR/config"
    cat >"$KAFKA_DIR/config/server.properties" <<EOF
# generated by deploy/local/infra.sh on every start - edit the script, not this file
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$BIND_HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT,CONTROLLER://$BIND_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT,CONTROLLER://$BIND_HOST:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
log.cleaner.dedupe.buffer.size=16777216
# One network thread and two request handlers: a local broker on a developer's 2-4 cores serves a few
# hundred small requests/s; more threads than that only add hand-offs (and each idle handler wakes every
# 300 ms). Long-polled fetches wait in the purgatory, not in a handler.
num.network.threads=1
num.io.threads=2
num.recovery.threads.per.data.dir=1
# A quiet idle broker (one node, on a developer's machine): the controller writes a no-op record to
# the metadata log every 500 ms by default; checkpoints and cleanups run every few seconds. None of it
# carries data; longer intervals only delay bookkeeping. (Not the broker's heartbeat/session: after a
# kill -9 the restarted node refuses its own registration until the old session expires.)
metadata.max.idle.interval.ms=30000
# The broker's heartbeat to its controller (the same process here) every 4 s instead of 2 s: each one
# wakes four threads on both sides. The session (9 s) is unchanged, so a restart after kill -9 waits
# no longer; a heartbeat may now be at most 5 s late instead of 7 before the node is fenced.
broker.heartbeat.interval.ms=4000
background.threads=2
replica.high.watermark.checkpoint.interval.ms=60000
transaction.abort.timed.out.transaction.cleanup.interval.ms=60000
# One group-coordinator thread (4 by default): a local broker's groups commit a few hundred times a
# second at most, and every extra thread is a hand-off for each heartbeat and offset fetch.
group.coordinator.threads=1
EOF
    cat >"$KAFKA_DIR/config/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $KAFKA_DIR/logs/server.log
appender.file.filePattern = $KAFKA_DIR/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
logger.netclient.name = org.apache.kafka.clients.NetworkClient
logger.netclient.level = WARN
EOF
    cat >"$KAFKA_DIR/config/log4j2-tools.properties" <<EOF
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

format_kafka_if_needed() {
    local ports_file="$KAFKA_DIR/data/.oms-ports" want="$KAFKA_PORT $KAFKA_CONTROLLER_PORT"
    if [[ -f "$KAFKA_DIR/data/meta.properties" ]]; then
        # --standalone stores the controller's address in the metadata log at format time.
        if [[ -f "$ports_file" && "$(cat "$ports_file")" != "$want" ]]; then
            die "kafka data in $KAFKA_DIR/data was formatted for ports '$(cat "$ports_file")', not '$want'. Use the same ports, or wipe it: deploy/local/infra.sh reset"
        fi
        return 0
    fi
    local cluster_id
    cluster_id="$("$JAVA" -Dlog4j2.configurationFile="$KAFKA_DIR/config/log4j2-tools.properties" \
        -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool random-uuid)"
    log "kafka: formatting storage (cluster id $cluster_id)"
    "$JAVA" -Dlog4j2.configurationFile="$KAFKA_DIR/config/log4j2-tools.properties" \
        -cp "$KAFKA_HOME/lib/*" kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$KAFKA_DIR/config/server.properties" --standalone >>"$KAFKA_DIR/logs/format.log" 2>&1 \
        || { tail -n 40 "$KAFKA_DIR/logs/format.log" >&2; die "kafka storage format failed"; }
    printf '%s' "$want" >"$ports_file"
}

start_kafka() {
    local pid
    if kafka_external; then log "kafka: external ($OMS_KAFKA_BOOTSTRAP), not started"; return 0; fi
    if pid="$(pid_of kafka)"; then log "kafka: already running (pid $pid)"; KAFKA_LOG_OFFSET=-1; return 0; fi
    port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is already in use by another process (set OMS_LOCAL_KAFKA_PORT)"
    port_open "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is already in use (set OMS_LOCAL_KAFKA_CONTROLLER_PORT)"
    write_kafka_config
    format_kafka_if_needed
    local logfile="$KAFKA_DIR/logs/server.log" offset=0
    [[ -f "$logfile" ]] && offset="$(stat -c %s "$logfile")"
    # shellcheck disable=SC2086
    launch kafka "$KAFKA_DIR/logs/kafka.out" "$JAVA" $KAFKA_JVM_OPTS "-Doms.instance=$KAFKA_DIR" \
        -Dlog4j2.configurationFile="$KAFKA_DIR/config/log4j2.properties" \
        -cp "$KAFKA_HOME/lib/*" kafka.Kafka "$KAFKA_DIR/config/server.properties"
    KAFKA_LOG_OFFSET="$offset"
    LAUNCHED_kafka=1
}

wait_kafka() {
    kafka_external && return 0
    local logfile="$KAFKA_DIR/logs/server.log" deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        pid_of kafka >/dev/null || fail_start kafka "$logfile" "process exited"
        # Ready = port open AND "Kafka Server started" logged by THIS run (the log is appended
        # across restarts, so only bytes after the pre-launch offset count). `|| true` because
        # grep -q exits early and tail's SIGPIPE would fail the pipeline under pipefail.
        if port_open "$KAFKA_PORT" && { ((${KAFKA_LOG_OFFSET:-0} < 0)) ||
            { tail -c "+$((${KAFKA_LOG_OFFSET:-0} + 1))" "$logfile" 2>/dev/null || true; } | grep -q "Kafka Server started"; }; then
            log "kafka: ready on $(kafka_url) (pid $(pid_of kafka))"
            return 0
        fi
        ((SECONDS < deadline)) || fail_start kafka "$logfile" "timeout after ${START_TIMEOUT}s"
        sleep 0.2
    done
}

# ---- Mongo -----------------------------------------------------------------------------------
start_mongo() {
    local pid
    if mongo_external; then log "mongo: external ($OMS_MONGO_URL), not started"; return 0; fi
    if pid="$(pid_of mongo)"; then log "mongo: already running (pid $pid)"; return 0; fi
    LAUNCHED_mongo=1
    port_open "$MONGO_PORT" && die "port $MONGO_PORT is already in use by another process (set OMS_LOCAL_MONGO_PORT)"
    mkdir -p "$MONGO_DIR/logs"
    # shellcheck disable=SC2086
    launch mongo "$MONGO_DIR/logs/mongo.log" "$JAVA" $MONGO_JVM_OPTS "-Doms.instance=$MONGO_DIR" \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
        -Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler=warn \
        -Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoDatabaseHandler=warn \
        -cp "$MJS_HOME/lib/*:$(launcher_dir)" OmsMongoServer "$BIND_HOST" "$MONGO_PORT" "$MONGO_DIR/oms.mv"
}

wait_mongo() {
    mongo_external && return 0
    local logfile="$MONGO_DIR/logs/mongo.log" deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        pid_of mongo >/dev/null || fail_start mongo "$logfile" "process exited"
        if port_open "$MONGO_PORT"; then
            log "mongo: ready on $(mongo_url) (pid $(pid_of mongo))"
            return 0
        fi
        ((SECONDS < deadline)) || fail_start mongo "$logfile" "timeout after ${START_TIMEOUT}s"
        sleep 0.1
    done
}

# ---- commands --------------------------------------------------------------------------------
urls_line() {
    local k m
    if kafka_external; then k="$OMS_KAFKA_BOOTSTRAP"; else k="$(kafka_url)"; fi
    if mongo_external; then m="$OMS_MONGO_URL"; else m="$(mongo_url)"; fi
    printf 'OMS_KAFKA_BOOTSTRAP=%s OMS_MONGO_URL=%s\n' "$k" "$m"
}

lock_instance() {
    # (named .instance.lock: JVMs started by the first version of this script inherited and still
    # hold an fd on run/infra.lock, so that name could block until they exit)
    exec 9>"$RUN_DIR/.instance.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 120 9 || die "another infra.sh holds $RUN_DIR/.instance.lock for more than 120s"
    fi
    return 0
}

cmd_start() {
    abs_local_dir
    if ! (kafka_external && mongo_external); then
        check_java
        ensure_installed
    fi
    lock_instance
    local t0=$SECONDS
    # Both JVMs boot in parallel; then wait for each.
    start_kafka
    start_mongo
    wait_mongo
    wait_kafka
    log "ready in $((SECONDS - t0))s (data: $LOCAL_DIR)"
    urls_line
}

cmd_stop() {
    abs_local_dir
    lock_instance
    # Our own live server (pid file + instance marker) is always stopped; an external one never.
    if kafka_external && ! pid_of kafka >/dev/null; then log "kafka: external, not stopped"; else stop_one kafka; fi
    if mongo_external && ! pid_of mongo >/dev/null; then log "mongo: external, not stopped"; else stop_one mongo; fi
}

cmd_status() {
    abs_local_dir
    local rc=0 pid name
    for name in kafka mongo; do
        local url ext=1
        if [[ $name == kafka ]]; then url="$(kafka_url)"; kafka_external || ext=0; else url="$(mongo_url)"; mongo_external || ext=0; fi
        if ((ext)); then
            [[ $name == kafka ]] && url="$OMS_KAFKA_BOOTSTRAP" || url="$OMS_MONGO_URL"
            printf '%-6s external  %s\n' "$name" "$url"
        elif pid="$(pid_of "$name")"; then
            local rss
            rss="$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ')"
            if port_open "${url##*:}"; then
                printf '%-6s running   %s pid=%s rss=%sMiB\n' "$name" "$url" "$pid" "$((${rss:-0} / 1024))"
            else
                printf '%-6s starting  %s pid=%s (port not open)\n' "$name" "$url" "$pid"; rc=1
            fi
        else
            printf '%-6s stopped   %s\n' "$name" "$url"; rc=1
        fi
    done
    printf 'data   %s\ncache  %s\n' "$LOCAL_DIR" "$CACHE_DIR"
    return "$rc"
}

cmd_logs() {
    abs_local_dir
    local follow=() files=() a
    for a in "$@"; do
        case "$a" in
            -f | --follow) follow=(-F) ;;
            kafka) files+=("$KAFKA_DIR/logs/server.log") ;;
            mongo) files+=("$MONGO_DIR/logs/mongo.log") ;;
            *) die "logs: unknown argument '$a' (use: logs [-f] [kafka|mongo])" ;;
        esac
    done
    ((${#files[@]})) || files=("$KAFKA_DIR/logs/server.log" "$MONGO_DIR/logs/mongo.log")
    for a in "${files[@]}"; do [[ -f "$a" ]] || log "no log yet: $a"; done
    exec tail -n "${OMS_INFRA_LOG_LINES:-100}" "${follow[@]}" "${files[@]}"
}

cmd_env() {
    abs_local_dir
    local line
    line="$(urls_line)"
    printf 'export %s\n' ${line}
}

cmd_reset() {  # stop and delete this instance's data (never the cache)
    cmd_stop
    log "deleting $KAFKA_DIR and $MONGO_DIR"
    rm -rf "$KAFKA_DIR" "$MONGO_DIR"
}

usage() {
    cat >&2 <<EOF
usage: $0 install|start|stop|status|logs [-f] [kafka|mongo]|env|reset
  env: OMS_LOCAL_DIR (default <repo>/.local)  OMS_CACHE_DIR (default ~/.cache/oms)
       OMS_LOCAL_KAFKA_PORT=19092  OMS_LOCAL_KAFKA_CONTROLLER_PORT=19093  OMS_LOCAL_MONGO_PORT=27018
       OMS_KAFKA_BOOTSTRAP / OMS_MONGO_URL: use an existing server instead (start/stop skip it)
EOF
    exit 2
}

main() {
    (($#)) || usage
    local cmd="$1"; shift
    case "$cmd" in
        install) cmd_install ;;
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        env) cmd_env ;;
        reset) cmd_reset ;;
        -h | --help | help) usage ;;
        *) log "unknown command '$cmd'"; usage ;;
    esac
}

main "$@"
