#!/usr/bin/env bash
# Starts and stops the real services newsvigil's Kafka mode and tests use, as plain processes:
# a single-node Apache Kafka (KRaft) broker from Maven Central jars, and a PostgreSQL cluster
# from Debian packages. Shared by `make services`, `make test`, .ci/run and developers.
#
#   services/services.sh up [kafka|postgres]...     start (idempotent), wait until they answer
#   services/services.sh down [kafka|postgres]...   clean stop of what this script started
#   services/services.sh status                     one line per service
#   services/services.sh env                        the NEWSVIGIL_* URLs for the running services
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${NEWSVIGIL_SERVICES_DIR:-$ROOT/.cache/services}"
KAFKA_LIBS="${NEWSVIGIL_KAFKA_LIBS:-$ROOT/.cache/kafka/libs}"
KAFKA_PORT="${NEWSVIGIL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${NEWSVIGIL_KAFKA_CONTROLLER_PORT:-9093}"
PG_PORT="${NEWSVIGIL_PG_PORT:-55432}"
PG_USER=newsvigil
PG_DB=newsvigil

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n  hint: %s\n' "$1" "${2:-see services/services.sh}" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- Kafka
kafka_fetch() {
  if ls "$KAFKA_LIBS"/kafka_2.13-*.jar >/dev/null 2>&1; then return; fi
  command -v mvn >/dev/null || die "Maven (mvn) is not installed" "apt-get install -y maven"
  command -v java >/dev/null || die "Java is not installed" "apt-get install -y openjdk-17-jre-headless"
  say "fetching the Kafka broker jars from Maven Central into $KAFKA_LIBS"
  mvn -B -q -f "$ROOT/services/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    || die "could not download Kafka from Maven Central" "check access to Maven Central, then retry"
}

kafka_up() {
  local dir="$STATE/kafka"
  if port_open "$KAFKA_PORT"; then
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then say "kafka already running on 127.0.0.1:$KAFKA_PORT"; return; fi
    die "port $KAFKA_PORT is taken by a process this script did not start" "stop it or set NEWSVIGIL_KAFKA_PORT"
  fi
  kafka_fetch
  mkdir -p "$dir/data"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
PROPS
  cat > "$dir/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
PROPS
  local java_opts=(-Xms512m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
                   "-Dlog4j.configuration=file:$dir/log4j.properties" -cp "$KAFKA_LIBS/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 \
      || die "formatting Kafka storage failed (see $dir/format.log)" "remove $dir and retry"
  fi
  : > "$dir/server.log"
  nohup java "${java_opts[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  say "starting kafka (pid $(cat "$dir/pid")) on 127.0.0.1:$KAFKA_PORT"
  for _ in $(seq 1 120); do
    if grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null && port_open "$KAFKA_PORT"; then
      say "kafka is up"; return
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || die "kafka exited during start-up (see $dir/server.log and $dir/stdout.log)" "check the logs; remove $dir to start from scratch"
    sleep 0.5
  done
  die "kafka did not answer within 60 s (see $dir/server.log)" "check the logs"
}

kafka_down() {
  local dir="$STATE/kafka"
  [ -f "$dir/pid" ] || { say "kafka is not running (started by this script)"; return; }
  local pid; pid="$(cat "$dir/pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "kafka did not stop in 30 s; killing"; kill -KILL "$pid"; }
  fi
  rm -f "$dir/pid"; say "kafka stopped"
}

# ---------------------------------------------------------------- PostgreSQL
pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  return 1
}

pg_install() {
  pg_bin >/dev/null && return
  command -v apt-get >/dev/null || die "PostgreSQL is not installed and apt-get is missing" "install PostgreSQL server binaries"
  say "installing PostgreSQL from Debian packages"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || die "apt-get install postgresql failed" "run 'apt-get update && apt-get install -y postgresql' by hand"
  pg_bin >/dev/null || die "PostgreSQL installed but initdb was not found" "check /usr/lib/postgresql"
}

as_pg() {
  # initdb and postgres refuse to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_dir() {
  # Where the cluster lives: under the state folder, unless the postgres user cannot reach it
  # (a checkout below a private home folder); then a folder in /tmp, remembered here.
  if [ -f "$STATE/postgres.location" ]; then cat "$STATE/postgres.location"; else echo "$STATE/postgres"; fi
}

pg_up() {
  local dir; dir="$(pg_dir)"
  pg_install
  local bin; bin="$(pg_bin)"
  if as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then say "postgres already running on 127.0.0.1:$PG_PORT"; return; fi
  port_open "$PG_PORT" && die "port $PG_PORT is taken by a process this script did not start" "stop it or set NEWSVIGIL_PG_PORT"
  mkdir -p "$dir"
  chmod 755 "$STATE" "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      dir="${TMPDIR:-/tmp}/newsvigil-postgres-$PG_PORT"
      mkdir -p "$dir" && chown postgres "$dir" && chmod 755 "$dir"
      echo "$dir" > "$STATE/postgres.location"
      say "the postgres user cannot reach $STATE; using $dir"
    fi
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || die "initdb failed (see $dir/initdb.log)" "remove $dir and retry"
  fi
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PG_PORT -k $dir -c fsync=off -c synchronous_commit=off -c max_connections=200" start >/dev/null \
    || die "postgres did not start (see $dir/server.log)" "check the log"
  local psql=("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt)
  if [ "$("${psql[@]}" -d postgres -c "select 1 from pg_roles where rolname='$PG_USER'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "create role $PG_USER login password '$PG_USER' createdb"
  fi
  if [ "$("${psql[@]}" -d postgres -c "select 1 from pg_database where datname='$PG_DB'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "create database $PG_DB owner $PG_USER"
  fi
  say "postgres is up on 127.0.0.1:$PG_PORT (database $PG_DB)"
}

pg_down() {
  local dir bin
  dir="$(pg_dir)"
  bin="$(pg_bin)" || { say "postgres is not installed"; return; }
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null && say "postgres stopped"
  else
    say "postgres is not running (started by this script)"
  fi
}

# ---------------------------------------------------------------- main
cmd="${1:-}"; shift || true
services=("$@"); [ ${#services[@]} -gt 0 ] || services=(kafka postgres)
case "$cmd" in
  up)   for s in "${services[@]}"; do case "$s" in kafka) kafka_up;; postgres) pg_up;; *) die "unknown service '$s'" "use kafka or postgres";; esac; done ;;
  down) for s in "${services[@]}"; do case "$s" in kafka) kafka_down;; postgres) pg_down;; *) die "unknown service '$s'" "use kafka or postgres";; esac; done ;;
  status)
    port_open "$KAFKA_PORT" && echo "kafka: up on 127.0.0.1:$KAFKA_PORT" || echo "kafka: down"
    port_open "$PG_PORT" && echo "postgres: up on 127.0.0.1:$PG_PORT" || echo "postgres: down" ;;
  env)
    echo "NEWSVIGIL_TEST_KAFKA=kafka://127.0.0.1:$KAFKA_PORT"
    echo "NEWSVIGIL_TEST_POSTGRES=postgresql+psycopg://$PG_USER:$PG_USER@127.0.0.1:$PG_PORT/$PG_DB" ;;
  *) die "usage: services/services.sh up|down|status|env [kafka|postgres]..." "try: services/services.sh up" ;;
esac
