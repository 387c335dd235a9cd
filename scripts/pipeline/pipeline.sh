#!/usr/bin/env bash
# Installs and runs a real local CDC pipeline on loopback:
#   PostgreSQL (source + target databases) -> Debezium PostgreSQL source -> Kafka (KRaft, 1 node)
#   -> Debezium JDBC sink -> PostgreSQL target database.
#
# Usage: scripts/pipeline/pipeline.sh <command>
#   install         download Kafka + Debezium + JDBC driver jars with mvn into the cache
#   up              start (idempotently) PostgreSQL, Kafka, Kafka Connect, register connectors
#   down [--purge]  stop everything (graceful, then kill); --purge also deletes the run dir
#   status          show what is running
#   logs [name]     tail the logs (postgres|kafka|connect; default: all)
#   stop-connect    stop only the Kafka Connect worker
#   start-connect   start only the Kafka Connect worker (and re-register connectors)
#   verify          end-to-end check: insert/update/delete replicate, DLQ receives a bad record
#   env             print the env file (written by up)
#   kafka CLASS ... run a Kafka tool class with the Kafka classpath, e.g.
#                   pipeline.sh kafka org.apache.kafka.tools.ConsoleProducer --bootstrap-server 127.0.0.1:39092 --topic t
#
# Environment (defaults): CDC_SENTINEL_CACHE ($HOME/.cache/cdc-sentinel), CDC_PIPELINE_DIR
# (/tmp/cdc-sentinel-pipeline), CDC_PG_PORT (55432), CDC_KAFKA_PORT (39092), CDC_KAFKA_CONTROLLER_PORT
# (39093), CDC_CONNECT_PORT (38083), CDC_KAFKA_FAULTS_PORT (39094) and CDC_KAFKA_FAULTS_PROXY_PORT (39095):
# Kafka's fault-injection listener, bound on the first and advertised as the second, where a Toxiproxy
# in front of it listens (nothing listens there unless a test starts one).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- versions -------------------------------------------------------------------------------
# Kafka: version.kafka of io.debezium:debezium-build-parent:3.6.1.Final is 4.3.0.
KAFKA_VERSION=${CDC_KAFKA_VERSION:-4.3.0}
DEBEZIUM_VERSION=${CDC_DEBEZIUM_VERSION:-3.6.1.Final}
# debezium-connector-jdbc 3.6.1.Final is not served by the Maven registry reachable here; the
# install falls back to these versions in order (each plugin lives in its own class loader).
DEBEZIUM_JDBC_VERSIONS=${CDC_DEBEZIUM_JDBC_VERSIONS:-"$DEBEZIUM_VERSION 3.6.0.Final"}

# ---- layout ---------------------------------------------------------------------------------
CACHE_ROOT=${CDC_SENTINEL_CACHE:-$HOME/.cache/cdc-sentinel}
CACHE="$CACHE_ROOT/pipeline"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
PLUGINS="$CACHE/plugins-debezium-$DEBEZIUM_VERSION"
RUN=${CDC_PIPELINE_DIR:-/tmp/cdc-sentinel-pipeline}
LOGS="$RUN/logs"
PG_PORT=${CDC_PG_PORT:-55432}
KAFKA_PORT=${CDC_KAFKA_PORT:-39092}
CONTROLLER_PORT=${CDC_KAFKA_CONTROLLER_PORT:-39093}
CONNECT_PORT=${CDC_CONNECT_PORT:-38083}
FAULTS_PORT=${CDC_KAFKA_FAULTS_PORT:-39094}
FAULTS_PROXY_PORT=${CDC_KAFKA_FAULTS_PROXY_PORT:-39095}
HOST=127.0.0.1
CONNECT_URL="http://$HOST:$CONNECT_PORT"
PG_USER=cdc
PG_PASSWORD=cdc
PG_DATA="$RUN/pg/data"
PG_SOCK="$RUN/pg/sock"
KAFKA_DIR="$RUN/kafka"
CONNECT_DIR="$RUN/connect"
MVN_SETTINGS=${CDC_MAVEN_SETTINGS:-$HERE/maven/settings.xml}

SOURCE_DSN="postgres://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/source?sslmode=disable"
TARGET_DSN="postgres://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/target?sslmode=disable"

STEP=""
log()  { printf '[pipeline] %s\n' "$*" >&2; }
step() { STEP=$1; printf '[pipeline] %s ...\n' "$1" >&2; }
ok()   { printf '[pipeline]   ok: %s\n' "$*" >&2; }
die()  {
  printf '[pipeline] FAILED%s: %s\n' "${STEP:+ at step '$STEP'}" "$1" >&2
  [ -n "${2:-}" ] && printf '[pipeline]   read the log: %s\n' "$2" >&2 && [ -f "$2" ] && tail -n 25 "$2" | sed 's/^/[pipeline]   | /' >&2
  exit 1
}

# ---- helpers --------------------------------------------------------------------------------
pg_bin() { # newest /usr/lib/postgresql/<v>/bin that has initdb
  local d best=""
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$d/initdb" ] && best=$d
  done
  echo "$best"
}

ensure_os_packages() {
  local need=()
  command -v curl >/dev/null || need+=(curl)
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || need+=(maven)
  [ -n "$(pg_bin)" ] || need+=(postgresql)
  command -v psql >/dev/null || need+=(postgresql-client)
  if [ ${#need[@]} -gt 0 ]; then
    step "apt-get install ${need[*]}"
    [ "$(id -u)" = 0 ] || die "need root to install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
    ok "installed ${need[*]}"
  fi
  # Debian's postgresql package starts a cluster on 5432; we do not use it and leave it alone.
  id postgres >/dev/null 2>&1 || die "OS user 'postgres' missing (the postgresql package creates it)"
}

# pid_alive PIDFILE PATTERN: the pid in PIDFILE is alive and its command line contains PATTERN.
pid_alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_for() { # wait_for SECONDS DESCRIPTION LOG CMD...
  local secs=$1 what=$2 logf=$3; shift 3
  local end=$((SECONDS + secs))
  until "$@"; do
    [ $SECONDS -lt $end ] || die "timed out after ${secs}s waiting for $what" "$logf"
    sleep 0.5
  done
}

# stop_pid PIDFILE PATTERN NAME TIMEOUT: SIGTERM, wait, then SIGKILL.
stop_pid() {
  local pidf=$1 pat=$2 name=$3 timeout=${4:-30} pid
  if pid_alive "$pidf" "$pat"; then
    pid=$(cat "$pidf")
    kill -TERM "$pid" 2>/dev/null || true
    local end=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.3; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop within ${timeout}s: killing pid $pid"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
    ok "$name stopped"
  else
    ok "$name not running"
  fi
  rm -f "$pidf"
}

# start_bg PIDFILE LOG CMD...: start CMD detached in its own session, record its pid.
start_bg() {
  local pidf=$1 logf=$2; shift 2
  rm -f "$pidf"
  # bash writes its own pid, then execs the command: the pid file names the java process itself.
  # 9>&-: the daemon must not inherit the lock file descriptor of this script
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidf" "$@" >>"$logf" 2>&1 </dev/null 9>&- &
  local end=$((SECONDS + 10))
  until [ -s "$pidf" ]; do
    [ $SECONDS -lt $end ] || die "process did not start" "$logf"
    sleep 0.1
  done
}

psql_admin() { # psql_admin DB [psql args...]: as OS user postgres over the private unix socket
  local db=$1; shift
  runuser -u postgres -- "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -d "$db" "$@"
}

psql_cdc() { # psql_cdc DSN [args]: as user cdc over TCP with the password
  PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 "$1" "${@:2}"
}

http() { curl -sS --max-time 30 "$@"; }

kafka_classpath() { echo "$KAFKA_LIBS/*"; }

# ---- install --------------------------------------------------------------------------------
mvn_copy() { # mvn_copy POM OUTDIR [-Dprop=val ...]
  local pom=$1 out=$2; shift 2
  local tmp="$out.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  if ! mvn -B -q -s "$MVN_SETTINGS" -f "$pom" "$@" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" -Dmdep.overWriteReleases=true \
        "${MVN_EXTRA[@]}" >"$CACHE/mvn.log" 2>&1; then
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$out"; mv "$tmp" "$out"
}

# A cache folder is reused only while its stamp matches the recipe (pom + version + options):
# editing a pom or the exclusions below re-downloads that folder on the next install/up.
recipe() { { cat "$1"; shift; echo "$*"; } | sha1sum | cut -c1-12; }
fresh() { [ -f "$1/.complete" ] && [ "$(sed -n 2p "$1/.complete")" = "$2" ]; }

# Kafka/Connect APIs, slf4j and jackson-core/databind/annotations come from the worker's classpath
# (same jackson version): a second jackson-databind inside a plugin breaks ServiceLoader lookups
# ("BlackbirdModule not a subtype" when the JDBC sink starts Hibernate). The JDBC sink also pulls
# drivers for other databases: only the PostgreSQL driver is kept.
PLUGIN_EXCLUDES="-DexcludeGroupIds=org.apache.kafka,org.slf4j,com.fasterxml.jackson.core,com.oracle.database.jdbc,com.microsoft.sqlserver,com.mysql,org.mariadb.jdbc"

# refuse to replace jars that a running broker/worker has open
not_in_use() {
  if kafka_running || connect_running; then
    die "$1 must be re-downloaded but Kafka/Connect are running from it: run '$0 down' first"
  fi
}

cmd_install() {
  ensure_os_packages
  mkdir -p "$CACHE"
  local t0=$SECONDS r
  MVN_EXTRA=()
  r=$(recipe "$HERE/maven/kafka.pom.xml" "$KAFKA_VERSION")
  if fresh "$KAFKA_LIBS" "$r"; then
    ok "Kafka $KAFKA_VERSION jars cached in $KAFKA_LIBS"
  else
    not_in_use "$KAFKA_LIBS"
    step "download Kafka $KAFKA_VERSION (broker, tools, Connect runtime) with mvn"
    mvn_copy "$HERE/maven/kafka.pom.xml" "$KAFKA_LIBS" -Dkafka.version="$KAFKA_VERSION" \
      || die "mvn could not resolve Kafka $KAFKA_VERSION" "$CACHE/mvn.log"
    printf '%s\n%s\n' "$KAFKA_VERSION" "$r" > "$KAFKA_LIBS/.complete"
    ok "$(ls "$KAFKA_LIBS" | wc -l) jars in $KAFKA_LIBS"
  fi
  local pg_plugin="$PLUGINS/debezium-connector-postgres" jdbc_plugin="$PLUGINS/debezium-connector-jdbc"
  MVN_EXTRA=("$PLUGIN_EXCLUDES")
  r=$(recipe "$HERE/maven/debezium-postgres.pom.xml" "$DEBEZIUM_VERSION $PLUGIN_EXCLUDES")
  if fresh "$pg_plugin" "$r"; then
    ok "Debezium PostgreSQL connector $DEBEZIUM_VERSION cached"
  else
    not_in_use "$pg_plugin"
    step "download Debezium PostgreSQL connector $DEBEZIUM_VERSION with mvn"
    mvn_copy "$HERE/maven/debezium-postgres.pom.xml" "$pg_plugin" -Ddebezium.version="$DEBEZIUM_VERSION" \
      || die "mvn could not resolve debezium-connector-postgres $DEBEZIUM_VERSION" "$CACHE/mvn.log"
    printf '%s\n%s\n' "$DEBEZIUM_VERSION" "$r" > "$pg_plugin/.complete"
    ok "$(ls "$pg_plugin" | wc -l) jars in $pg_plugin"
  fi
  r=$(recipe "$HERE/maven/debezium-jdbc.pom.xml" "$DEBEZIUM_JDBC_VERSIONS $PLUGIN_EXCLUDES")
  if fresh "$jdbc_plugin" "$r"; then
    ok "Debezium JDBC sink $(head -n 1 "$jdbc_plugin/.complete") cached"
  else
    local v done_v=""
    not_in_use "$jdbc_plugin"
    for v in $DEBEZIUM_JDBC_VERSIONS; do
      step "download Debezium JDBC sink $v (+ PostgreSQL JDBC driver) with mvn"
      if mvn_copy "$HERE/maven/debezium-jdbc.pom.xml" "$jdbc_plugin" -Ddebezium.version="$v"; then
        done_v=$v; break
      fi
      log "  debezium-connector-jdbc $v could not be resolved (see $CACHE/mvn.log); trying the next version"
    done
    [ -n "$done_v" ] || die "no debezium-connector-jdbc version of '$DEBEZIUM_JDBC_VERSIONS' could be resolved" "$CACHE/mvn.log"
    ls "$jdbc_plugin"/postgresql-*.jar >/dev/null 2>&1 || die "PostgreSQL JDBC driver missing from $jdbc_plugin"
    printf '%s\n%s\n' "$done_v" "$r" > "$jdbc_plugin/.complete"
    ok "$(ls "$jdbc_plugin" | wc -l) jars in $jdbc_plugin"
  fi
  ok "install done in $((SECONDS - t0))s (cache: $CACHE)"
}

installed() {
  fresh "$KAFKA_LIBS" "$(recipe "$HERE/maven/kafka.pom.xml" "$KAFKA_VERSION")" \
    && fresh "$PLUGINS/debezium-connector-postgres" "$(recipe "$HERE/maven/debezium-postgres.pom.xml" "$DEBEZIUM_VERSION $PLUGIN_EXCLUDES")" \
    && fresh "$PLUGINS/debezium-connector-jdbc" "$(recipe "$HERE/maven/debezium-jdbc.pom.xml" "$DEBEZIUM_JDBC_VERSIONS $PLUGIN_EXCLUDES")"
}

# ---- PostgreSQL -----------------------------------------------------------------------------
pg_running() { [ -f "$PG_DATA/postmaster.pid" ] && runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
pg_ready() { "$(pg_bin)/pg_isready" -q -h "$HOST" -p "$PG_PORT" -d postgres; }

pg_up() {
  step "PostgreSQL on $HOST:$PG_PORT (data $PG_DATA)"
  local bin; bin=$(pg_bin)
  mkdir -p "$RUN/pg" "$PG_SOCK" "$LOGS"
  chmod 755 "$RUN" "$RUN/pg"
  chown postgres:postgres "$RUN/pg" "$PG_SOCK"
  runuser -u postgres -- test -x "$RUN/pg" \
    || die "OS user postgres cannot reach $RUN/pg: choose a CDC_PIPELINE_DIR whose parent folders are world-searchable"
  touch "$LOGS/postgres.log"; chown postgres:postgres "$LOGS/postgres.log"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    rm -rf "$PG_DATA"
    local pwfile="$RUN/pg/.pw"
    echo "$PG_PASSWORD" > "$pwfile"; chown postgres:postgres "$pwfile"; chmod 600 "$pwfile"
    runuser -u postgres -- "$bin/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >>"$LOGS/postgres.log" 2>&1 \
      || runuser -u postgres -- "$bin/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
           -E UTF8 --locale=C >>"$LOGS/postgres.log" 2>&1 \
      || die "initdb failed" "$LOGS/postgres.log"
    rm -f "$pwfile"
    cat >> "$PG_DATA/postgresql.conf" <<EOF

# --- cdc-sentinel local pipeline ---
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
max_connections = 100
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = scram-sha-256
timezone = 'UTC'
log_timezone = 'UTC'
EOF
    cat > "$PG_DATA/pg_hba.conf" <<EOF
# cdc-sentinel local pipeline: unix socket (dir only reachable by root/postgres) trusts, loopback TCP needs a password
local   all          all                       trust
host    all          all          127.0.0.1/32 scram-sha-256
host    replication  all          127.0.0.1/32 scram-sha-256
EOF
    chown postgres:postgres "$PG_DATA/pg_hba.conf"
    ok "initdb done"
  fi
  if pg_running; then
    ok "already running"
  else
    port_open "$PG_PORT" && die "port $PG_PORT is already used by another process"
    runuser -u postgres -- "$bin/pg_ctl" -D "$PG_DATA" -l "$LOGS/postgres.log" -w -t 60 start >/dev/null 9>&- \
      || die "pg_ctl start failed" "$LOGS/postgres.log"
    ok "started"
  fi
  wait_for 30 "PostgreSQL to accept connections" "$LOGS/postgres.log" pg_ready
  pg_bootstrap
}

pg_bootstrap() {
  step "PostgreSQL roles, databases and demo schema"
  psql_admin postgres >>"$LOGS/postgres.log" 2>&1 <<EOF || die "creating role/databases failed" "$LOGS/postgres.log"
SELECT format('CREATE ROLE %I LOGIN SUPERUSER REPLICATION PASSWORD %L', '$PG_USER', '$PG_PASSWORD')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') \gexec
SELECT 'CREATE DATABASE source OWNER $PG_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'source') \gexec
SELECT 'CREATE DATABASE target OWNER $PG_USER' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'target') \gexec
EOF
  psql_cdc "$SOURCE_DSN" -f "$HERE/sql/source.sql" >>"$LOGS/postgres.log" 2>&1 \
    || die "demo schema in database 'source' failed (sql/source.sql)" "$LOGS/postgres.log"
  ok "source: $(psql_cdc "$SOURCE_DSN" -tAc "select (select count(*) from inventory.customers) || ' customers, ' || (select count(*) from inventory.orders) || ' orders'")"
}

pg_down() {
  step "stop PostgreSQL"
  if pg_running; then
    runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 \
      || log "pg_ctl stop failed; see $LOGS/postgres.log"
    ok "PostgreSQL stopped"
  else
    ok "PostgreSQL not running"
  fi
}

# ---- Kafka ----------------------------------------------------------------------------------
kafka_running() { pid_alive "$KAFKA_DIR/kafka.pid" "kafka.Kafka"; }

java_opts_common() {
  echo "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -Djava.awt.headless=true" \
       "-Dlog4j2.configurationFile=$HERE/config/log4j2.properties"
}

kafka_up() {
  step "Kafka broker (KRaft) on $HOST:$KAFKA_PORT, controller $HOST:$CONTROLLER_PORT, fault listener $HOST:$FAULTS_PORT"
  mkdir -p "$KAFKA_DIR" "$LOGS"
  sed -e "s#@HOST@#$HOST#g; s#@KAFKA_PORT@#$KAFKA_PORT#g; s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g; s#@DATA@#$KAFKA_DIR/data#g" \
      -e "s#@FAULTS_PORT@#$FAULTS_PORT#g; s#@FAULTS_PROXY_PORT@#$FAULTS_PROXY_PORT#g" \
    "$HERE/config/server.properties" > "$KAFKA_DIR/server.properties"
  # A broker started from another configuration (an older pipeline.sh, say, without the fault
  # listener) is restarted once so that `up` always leaves the configuration this script describes;
  # kafka.started.properties is the configuration the running broker was started with.
  if kafka_running && ! cmp -s "$KAFKA_DIR/server.properties" "$KAFKA_DIR/kafka.started.properties"; then
    log "  the running broker was started with another configuration: restarting it"
    stop_pid "$KAFKA_DIR/kafka.pid" "kafka.Kafka" "Kafka broker" 40
  fi
  if kafka_running; then
    ok "already running (pid $(cat "$KAFKA_DIR/kafka.pid"))"
  else
    local p
    for p in "$KAFKA_PORT" "$CONTROLLER_PORT" "$FAULTS_PORT"; do
      wait_for 30 "port $p to be free (another process holds it)" "$LOGS/kafka.log" port_free "$p"
    done
    if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
      local cid
      cid=$(java -cp "$(kafka_classpath)" $(java_opts_common) kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka.log") \
        || die "kafka-storage random-uuid failed" "$LOGS/kafka.log"
      java -cp "$(kafka_classpath)" $(java_opts_common) kafka.tools.StorageTool format --standalone \
        -t "$cid" -c "$KAFKA_DIR/server.properties" >>"$LOGS/kafka.log" 2>&1 \
        || die "kafka-storage format failed" "$LOGS/kafka.log"
      ok "log dir formatted (cluster id $cid)"
    fi
    cp "$KAFKA_DIR/server.properties" "$KAFKA_DIR/kafka.started.properties"
    start_bg "$KAFKA_DIR/kafka.pid" "$LOGS/kafka.log" \
      java -Xms256m -Xmx512m $(java_opts_common) -cp "$(kafka_classpath)" kafka.Kafka "$KAFKA_DIR/server.properties"
    ok "started (pid $(cat "$KAFKA_DIR/kafka.pid"))"
  fi
  kafka_wait
}

port_free() { ! port_open "$1"; }

kafka_ready() {
  kafka_running || die "Kafka process exited" "$LOGS/kafka.log"
  port_open "$KAFKA_PORT" && port_open "$FAULTS_PORT"
}

kafka_wait() { wait_for 60 "the Kafka broker" "$LOGS/kafka.log" kafka_ready; ok "broker accepts connections"; }

kafka_down() { step "stop Kafka broker"; stop_pid "$KAFKA_DIR/kafka.pid" "kafka.Kafka" "Kafka broker" 40; }

# ---- Kafka Connect --------------------------------------------------------------------------
connect_running() { pid_alive "$CONNECT_DIR/connect.pid" "ConnectDistributed"; }

connect_up() {
  step "Kafka Connect worker on $CONNECT_URL"
  mkdir -p "$CONNECT_DIR" "$LOGS"
  sed -e "s#@HOST@#$HOST#g; s#@KAFKA_PORT@#$KAFKA_PORT#g; s#@CONNECT_PORT@#$CONNECT_PORT#g; s#@PLUGIN_PATH@#$PLUGINS#g" \
    "$HERE/config/connect-distributed.properties" > "$CONNECT_DIR/connect-distributed.properties"
  if connect_running; then
    ok "already running (pid $(cat "$CONNECT_DIR/connect.pid"))"
  else
    port_open "$CONNECT_PORT" && die "port $CONNECT_PORT is already used by another process"
    start_bg "$CONNECT_DIR/connect.pid" "$LOGS/connect.log" \
      java -Xms256m -Xmx768m $(java_opts_common) -cp "$(kafka_classpath)" \
        org.apache.kafka.connect.cli.ConnectDistributed "$CONNECT_DIR/connect-distributed.properties"
    ok "started (pid $(cat "$CONNECT_DIR/connect.pid"))"
  fi
  connect_wait
}

connect_rest_ready() {
  connect_running || die "Kafka Connect process exited" "$LOGS/connect.log"
  local plugins
  plugins=$(curl -sf --max-time 5 "$CONNECT_URL/connector-plugins" 2>/dev/null) || return 1
  curl -sf --max-time 5 "$CONNECT_URL/connectors" >/dev/null 2>&1 || return 1
  case $plugins in *io.debezium.connector.postgresql.PostgresConnector*) ;; *) return 1 ;; esac
  case $plugins in *io.debezium.connector.jdbc.JdbcSinkConnector*) ;; *) return 1 ;; esac
}

connect_wait() {
  wait_for 120 "Kafka Connect REST ($CONNECT_URL) with both Debezium plugins" "$LOGS/connect.log" connect_rest_ready
  ok "REST answers; Debezium PostgresConnector and JdbcSinkConnector plugins loaded"
}

connect_down() { step "stop Kafka Connect worker"; stop_pid "$CONNECT_DIR/connect.pid" "ConnectDistributed" "Kafka Connect" 40; }

# PUT a connector config rendered from config/NAME.json (idempotent); retries on 409 (rebalance).
register() {
  local name=$1 body code i
  body=$(sed -e "s#@HOST@#$HOST#g; s#@PG_PORT@#$PG_PORT#g; s#@PG_USER@#$PG_USER#g; s#@PG_PASSWORD@#$PG_PASSWORD#g" \
    "$HERE/config/$name.json")
  # unchanged config: no PUT (a PUT rewrites the config topic and restarts the connector)
  if curl -sf --max-time 10 "$CONNECT_URL/connectors/$name/config" 2>/dev/null | BODY="$body" NAME="$name" python3 -c '
import json, os, sys
have = json.load(sys.stdin); have.pop("name", None)
want = json.loads(os.environ["BODY"]); want.pop("name", None)
sys.exit(0 if have == want else 1)' 2>/dev/null; then
    return 0
  fi
  for i in $(seq 1 20); do
    code=$(curl -sS --max-time 30 -o "$CONNECT_DIR/$name.put.json" -w '%{http_code}' -X PUT \
      -H 'Content-Type: application/json' --data "$body" "$CONNECT_URL/connectors/$name/config") || code=000
    case $code in
      200|201) return 0 ;;
      409|000|500) sleep 1 ;;
      *) die "PUT /connectors/$name/config answered $code: $(cat "$CONNECT_DIR/$name.put.json")" "$LOGS/connect.log" ;;
    esac
  done
  die "PUT /connectors/$name/config kept failing (last $code)" "$LOGS/connect.log"
}

connector_state() { # prints "<connector state> <task states...>"
  curl -sf --max-time 5 "$CONNECT_URL/connectors/$1/status" 2>/dev/null | python3 -c '
import json,sys
s=json.load(sys.stdin)
print(s["connector"]["state"], *[t["state"] for t in s.get("tasks",[])])' 2>/dev/null
}

connector_running() { [ "$(connector_state "$1")" = "RUNNING RUNNING" ]; }

# wait_connector NAME: RUNNING connector and task. The status topic can still show the FAILED state
# of an earlier task for a moment after a (re)start; a task still FAILED after 15 s is restarted
# once; after 60 s the step fails with the trace.
wait_connector() {
  local name=$1 end=$((SECONDS + 60)) restarted=0 st
  while :; do
    connect_running || die "Kafka Connect process exited" "$LOGS/connect.log"
    st=$(connector_state "$name" || true)
    [ "$st" = "RUNNING RUNNING" ] && return 0
    if [ $restarted = 0 ] && [ $SECONDS -gt $((end - 45)) ] && [[ $st == *FAILED* ]]; then
      log "  $name is '$st': restarting failed instances once"
      curl -sS --max-time 30 -o /dev/null -X POST "$CONNECT_URL/connectors/$name/restart?includeTasks=true&onlyFailed=true" || true
      restarted=1
    fi
    if [ $SECONDS -ge $end ]; then
      die "connector $name is not RUNNING ('${st:-no status}'): $(curl -s --max-time 5 "$CONNECT_URL/connectors/$name/status" | head -c 3000)" "$LOGS/connect.log"
    fi
    sleep 0.5
  done
}

connectors_up() {
  step "register connectors demo-source and demo-sink"
  register demo-source
  register demo-sink
  wait_connector demo-source
  wait_connector demo-sink
  ok "demo-source and demo-sink RUNNING"
}

# ---- env file -------------------------------------------------------------------------------
write_env() {
  local jdbc_v; jdbc_v=$(head -n 1 "$PLUGINS/debezium-connector-jdbc/.complete" 2>/dev/null || echo unknown)
  cat > "$RUN/env.tmp" <<EOF
# written by scripts/pipeline/pipeline.sh up; source it: . $RUN/env
export CDC_PIPELINE_DIR=$RUN
export CDC_PIPELINE_SCRIPT=$HERE/pipeline.sh
export CDC_CONNECT_URL=$CONNECT_URL
export CDC_KAFKA_BROKERS=$HOST:$KAFKA_PORT
export CDC_KAFKA_FAULTS_LISTENER=$HOST:$FAULTS_PORT
export CDC_KAFKA_FAULTS_ADVERTISED=$HOST:$FAULTS_PROXY_PORT
export CDC_PG_HOST=$HOST
export CDC_PG_PORT=$PG_PORT
export CDC_PG_USER=$PG_USER
export CDC_PG_PASSWORD=$PG_PASSWORD
export CDC_SOURCE_DSN='$SOURCE_DSN'
export CDC_TARGET_DSN='$TARGET_DSN'
export CDC_SOURCE_CONNECTOR=demo-source
export CDC_SINK_CONNECTOR=demo-sink
export CDC_TOPIC_PREFIX=demo
export CDC_TOPICS='demo.inventory.customers,demo.inventory.orders'
export CDC_DLQ_TOPIC=demo-sink-dlq
export CDC_SLOT_NAME=demo_slot
export CDC_PUBLICATION=demo_publication
export CDC_SIGNAL_TABLE=inventory.debezium_signal
export CDC_PLUGIN_PATH=$PLUGINS
export CDC_KAFKA_CLASSPATH='$KAFKA_LIBS/*'
export CDC_KAFKA_VERSION=$KAFKA_VERSION
export CDC_DEBEZIUM_VERSION=$DEBEZIUM_VERSION
export CDC_DEBEZIUM_JDBC_VERSION=$jdbc_v
export CDC_PIPELINE_LOGS=$LOGS
EOF
  mv "$RUN/env.tmp" "$RUN/env"
}

# ---- commands -------------------------------------------------------------------------------
cmd_up() {
  local t0=$SECONDS
  ensure_os_packages
  installed || cmd_install
  mkdir -p "$RUN" "$LOGS"
  pg_up
  kafka_up
  connect_up
  connectors_up
  write_env
  STEP=""
  log "pipeline up in $((SECONDS - t0))s; env file: $RUN/env (source it), logs: $LOGS/*.log"
}

cmd_down() {
  local purge=0
  [ "${1:-}" = "--purge" ] && purge=1
  connect_down
  kafka_down
  pg_down
  if [ $purge = 1 ]; then
    step "purge $RUN"
    case $RUN in /|"") die "refusing to purge '$RUN'" ;; esac
    rm -rf "$RUN"
    ok "removed $RUN"
  fi
}

cmd_status() {
  local rc=0 st
  if pg_running && pg_ready; then echo "postgres   RUNNING  $HOST:$PG_PORT  data=$PG_DATA"
  else echo "postgres   DOWN"; rc=1; fi
  if kafka_running && port_open "$KAFKA_PORT"; then echo "kafka      RUNNING  $HOST:$KAFKA_PORT  pid=$(cat "$KAFKA_DIR/kafka.pid")  fault listener $HOST:$FAULTS_PORT advertised as $HOST:$FAULTS_PROXY_PORT"
  else echo "kafka      DOWN"; rc=1; fi
  if connect_running && curl -sf --max-time 5 "$CONNECT_URL/connectors" >/dev/null 2>&1; then
    echo "connect    RUNNING  $CONNECT_URL  pid=$(cat "$CONNECT_DIR/connect.pid")"
    for c in demo-source demo-sink; do
      st=$(connector_state "$c") || st="MISSING"
      echo "  $c: $st"
      [ "$st" = "RUNNING RUNNING" ] || rc=1
    done
  else echo "connect    DOWN"; rc=1; fi
  [ -f "$RUN/env" ] && echo "env file:  $RUN/env"
  echo "logs:      $LOGS/{postgres,kafka,connect}.log"
  return $rc
}

cmd_logs() {
  local f=()
  if [ -n "${1:-}" ]; then f=("$LOGS/$1.log"); else f=("$LOGS"/*.log); fi
  exec tail -n "${CDC_LOG_LINES:-50}" -F "${f[@]}"
}

cmd_stop_connect() { connect_down; }

cmd_start_connect() {
  installed || die "not installed: run $0 install"
  kafka_running || die "Kafka is not running: run $0 up"
  connect_up
  connectors_up
  write_env
}

cmd_kafka() {
  [ $# -ge 1 ] || die "usage: $0 kafka CLASS [args...]"
  local cls=$1; shift
  exec java -Xmx256m $(java_opts_common) -Dlog4j2.level=WARN -cp "$(kafka_classpath)" "$cls" "$@"
}

cmd_verify() { exec bash "$HERE/verify.sh"; }

# one lifecycle command at a time (parallel test processes may all call up)
lock() {
  exec 9>"${RUN%/}.lock"
  flock -w 300 9 || die "another pipeline.sh command holds ${RUN%/}.lock for more than 300 s"
}

main() {
  local cmd=${1:-help}
  [ $# -gt 0 ] && shift
  case $cmd in install|up|down|stop-connect|start-connect) lock ;; esac
  case $cmd in
    install)        cmd_install ;;
    up)             cmd_up ;;
    down)           cmd_down "$@" ;;
    status)         cmd_status ;;
    logs)           cmd_logs "$@" ;;
    stop-connect)   cmd_stop_connect ;;
    start-connect)  cmd_start_connect ;;
    verify)         cmd_verify ;;
    env)            cat "$RUN/env" ;;
    kafka)          cmd_kafka "$@" ;;
    help|-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *)              die "unknown command '$cmd' (try: $0 help)" ;;
  esac
}

main "$@"
