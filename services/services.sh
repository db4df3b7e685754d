#!/usr/bin/env bash
# Starts and stops the real services newsvigil's Kafka mode and tests use, as plain processes:
# a single-node Apache Kafka (KRaft) broker from Maven Central jars, and a PostgreSQL cluster
# from Debian packages. Shared by `make services`, `make test`, .ci/run and developers.
#
#   services/services.sh up [kafka|postgres]...     start, or use the one already running; wait until they
#                                                    answer. This checkout holds them until `down`.
#   services/services.sh down [kafka|postgres]...   let go of them; a server stops once no one uses it
#   services/services.sh run [kafka|postgres]... -- COMMAND...
#                                                    holds them only while COMMAND runs (`make test`), with
#                                                    NEWSVIGIL_TEST_* pointing at them; exits with COMMAND's status
#   services/services.sh status                     one line per service
#   services/services.sh env                        the NEWSVIGIL_* URLs for the running services
#
# Sharing. Every checkout uses the same ports, so the servers one checkout started must serve another
# one too, and must not be stopped under it. Each server is written down in a registry that all
# checkouts of this user share ($REGISTRY/kafka-9092/: the server's pid, its folder, and one lease per
# user). `up` takes a lease in the name of the checkout (until its `down`), `run` one in the name of its
# own pid (until COMMAND ends). `down` and the end of `run` give the lease back, and the server stops
# when no lease is left, whoever started it. A lease whose process has died, or whose checkout folder is
# gone, no longer counts, so a killed `make test` does not keep a server alive forever.
# A port held by a newsvigil server that is not in the registry (one started by an older services.sh,
# recognised by its command line) is used as it is and never stopped from here. Any other process on
# the port is an error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${NEWSVIGIL_SERVICES_DIR:-$ROOT/.cache/services}"
KAFKA_LIBS="${NEWSVIGIL_KAFKA_LIBS:-$ROOT/.cache/kafka/libs}"
KAFKA_PORT="${NEWSVIGIL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${NEWSVIGIL_KAFKA_CONTROLLER_PORT:-9093}"
PG_PORT="${NEWSVIGIL_PG_PORT:-55432}"
PG_USER=newsvigil
PG_DB=newsvigil
# A fixed place rather than $XDG_RUNTIME_DIR: that is set in login sessions only, and a `make test`
# from cron or an IDE must find the same registry as the one from a terminal.
REGISTRY="${NEWSVIGIL_SERVICES_REGISTRY:-/tmp/newsvigil-services-$(id -u)}"
# Who a lease is for: this checkout (its state folder), or a `run` (its pid, set below).
LEASE="dir-$(printf '%s' "$STATE" | cksum | cut -d' ' -f1)"

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n  hint: %s\n' "$1" "${2:-see services/services.sh}" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A process that exists and is not a zombie (a server whose parent has not collected it is gone).
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

# The pid listening on 127.0.0.1:$1, when ss may tell (it does not for other users' processes).
listener() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2; }

describe() {
  local text
  [ -n "$1" ] || { echo "a process this script cannot see (another user's?)"; return; }
  text="$(cmdline "$1")"; text="${text% }"
  # The program and the end of its arguments, where the folders of a Kafka or PostgreSQL server are.
  [ ${#text} -le 160 ] || text="${text%% *} ...${text: -140}"
  echo "pid $1 ($text)"
}

# ---------------------------------------------------------------- registry
registry() {
  if [ ! -d "$REGISTRY" ]; then
    # Another services.sh may create it at the same moment.
    mkdir -m 700 "$REGISTRY" 2>/dev/null || [ -d "$REGISTRY" ] || die "cannot create $REGISTRY" "set NEWSVIGIL_SERVICES_REGISTRY"
  fi
  # It lives in /tmp: refuse one that someone else made or may write to.
  if [ ! -O "$REGISTRY" ] || [ "$(stat -c %a "$REGISTRY")" != 700 ]; then
    die "$REGISTRY is not a folder of yours with mode 700" "remove it, or set NEWSVIGIL_SERVICES_REGISTRY"
  fi
}

# Runs "$@" while holding the lock of one registry entry ($1), so that two checkouts starting or
# stopping the same server at once take turns: the second then finds the first one's server.
with_lock() {
  local entry=$1; shift
  registry
  (
    exec 9>"$entry.lock"
    if ! flock -n 9; then
      say "waiting for another services.sh busy with ${entry##*/}"
      flock -w 900 9 || die "another services.sh held ${entry##*/} for 15 minutes" "see $REGISTRY and 'ps -ef'"
    fi
    "$@"
  )
}

# The pid of the server an entry lists, if it still runs. Its command line must name the server's
# folder: that also tells a recycled pid from the server.
registered_pid() {
  local entry=$1 pid dir
  pid="$(cat "$entry/pid" 2>/dev/null)" && dir="$(cat "$entry/dir" 2>/dev/null)" || return 1
  alive "$pid" && [[ "$(cmdline "$pid")" == *"$dir/"* ]] || return 1
  echo "$pid"
}

record() {  # entry pid dir
  rm -rf "$1"; mkdir -p "$1/leases"
  echo "$2" >"$1/pid"; echo "$3" >"$1/dir"
}

take_lease() {
  mkdir -p "$STATE"  # a checkout lease lasts as long as this folder (see live_leases)
  printf '%s\n' "$STATE" >"$1/leases/$LEASE"
}

# The leases of an entry that still count, one file a line; the others are removed on the way.
live_leases() {
  local file name
  for file in "$1"/leases/*; do
    [ -e "$file" ] || continue
    name="${file##*/}"
    if case "$name" in pid-*) alive "${name#pid-}" ;; *) [ -d "$(cat "$file")" ] ;; esac; then
      echo "$file"
    else
      rm -f "$file"
    fi
  done
}

lease_holders() {  # the live leases of an entry, for people
  local file text=""
  while read -r file; do
    case "${file##*/}" in
      pid-*) text+="${text:+; }$(cat "$file") (services.sh run, pid ${file##*/pid-})" ;;
      *) text+="${text:+; }$(cat "$file")" ;;
    esac
  done < <(live_leases "$1")
  echo "$text"
}

# Stops a server by its pid: $2 is its clean, $3 its forceful stop signal.
stop_pid() {
  local pid=$1 clean=$2 force=$3 what=$4
  kill "-$clean" "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do alive "$pid" || return 0; sleep 0.5; done
  say "$what (pid $pid) did not stop within 30 s; sending SIG$force"
  kill "-$force" "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do alive "$pid" || return 0; sleep 0.5; done
  die "$what (pid $pid) does not stop" "look at it with 'ps -fp $pid'"
}

wait_answer() {  # port pid what
  for _ in $(seq 1 120); do
    port_open "$1" && return
    alive "$2" || die "$3 (pid $2) exited before answering on 127.0.0.1:$1" "run 'services/services.sh up' again"
    sleep 0.5
  done
  die "$3 (pid $2) runs but does not answer on 127.0.0.1:$1" "look at its log, or stop it"
}

# `up` of one service ($1: kafka or postgres, $2: its port), under the entry's lock. In this order:
# the registered server; this checkout's own server from before the registry (taken into it); a
# newsvigil server outside the registry (used, never stopped); a foreign process (error); a new server.
claim() {
  local svc=$1 port=$2 entry="$REGISTRY/$1-$2" pid own
  if pid="$(registered_pid "$entry")"; then
    wait_answer "$port" "$pid" "$svc"
    take_lease "$entry"
    say "$svc already running on 127.0.0.1:$port (pid $pid, from $(cat "$entry/dir")); using it"
    return
  fi
  rm -rf "$entry"
  if port_open "$port"; then
    pid="$(listener "$port")"
    if own="$("${svc}_own_pid")" && [ "${pid:-$own}" = "$own" ]; then
      record "$entry" "$own" "$("${svc}_dir")"
      take_lease "$entry"
      say "$svc already running on 127.0.0.1:$port (pid $own, from this checkout); using it"
    elif [ -n "$pid" ] && newsvigil_server "$svc" "$pid"; then
      say "$svc already running on 127.0.0.1:$port outside the registry (an older services.sh started it): $(describe "$pid")"
      say "using it; it belongs to whoever started it and is never stopped from here"
    else
      die "port $port is taken by $(describe "$pid"), not by a newsvigil $svc" \
          "stop that process, or use another port, e.g. NEWSVIGIL_$(port_var "$svc")=<port> make test"
    fi
    return
  fi
  "${svc}_start"
  pid="$("${svc}_own_pid")" || die "$svc started but its pid is unknown" "see $("${svc}_dir")"
  record "$entry" "$pid" "$("${svc}_dir")"
  take_lease "$entry"
}

# `down` of one service, under the entry's lock: give back this checkout's (or this run's) lease, and
# stop the server if that was the last one.
release() {
  local svc=$1 port=$2 entry="$REGISTRY/$1-$2" pid holders
  rm -f "$entry/leases/$LEASE"
  if ! pid="$(registered_pid "$entry")"; then
    rm -rf "$entry"
    # Not in the registry: this checkout's own server from before the registry still stops as it used to.
    if pid="$("${svc}_own_pid")"; then
      "${svc}_stop" "$pid"
    elif port_open "$port"; then
      say "$svc on 127.0.0.1:$port was not started through the registry; left running"
    else
      say "$svc is not running on 127.0.0.1:$port"
    fi
    return
  fi
  holders="$(lease_holders "$entry")"
  if [ -n "$holders" ]; then
    say "$svc on 127.0.0.1:$port stays up: still used by $holders"
    return
  fi
  "${svc}_stop" "$pid"
  rm -rf "$entry"
}

newsvigil_server() {  # svc pid: is this the kind of server this script starts?
  local text; text="$(cmdline "$2")"
  case "$1" in
    kafka) [[ "$text" == *kafka.Kafka* && ( "$text" == *-Dnewsvigil.services=* || "$text" == */kafka/server.properties* ) ]] ;;
    postgres) [[ "$text" == *"cluster_name=newsvigil"* || "$text" == *"-D "*/services/postgres/data* || "$text" == *"-D "*/newsvigil-postgres-*/data* ]] ;;
  esac
}

port_var() { case "$1" in kafka) echo KAFKA_PORT;; postgres) echo PG_PORT;; esac; }
port_of() { case "$1" in kafka) echo "$KAFKA_PORT";; postgres) echo "$PG_PORT";; esac; }

# ---------------------------------------------------------------- Kafka
kafka_dir() { echo "$STATE/kafka"; }

kafka_own_pid() {  # the broker this checkout started, if it runs
  local dir pid; dir="$(kafka_dir)"
  pid="$(cat "$dir/pid" 2>/dev/null)" && alive "$pid" && [[ "$(cmdline "$pid")" == *"$dir/"* ]] || return 1
  echo "$pid"
}

kafka_fetch() {
  if ls "$KAFKA_LIBS"/kafka_2.13-*.jar >/dev/null 2>&1; then return; fi
  command -v mvn >/dev/null || die "Maven (mvn) is not installed" "apt-get install -y maven"
  command -v java >/dev/null || die "Java is not installed" "apt-get install -y openjdk-17-jre-headless"
  say "fetching the Kafka broker jars from Maven Central into $KAFKA_LIBS"
  mvn -B -q -f "$ROOT/services/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    || die "could not download Kafka from Maven Central" "check access to Maven Central, then retry"
}

kafka_start() {
  local dir; dir="$(kafka_dir)"
  if port_open "$KAFKA_CONTROLLER_PORT"; then
    die "port $KAFKA_CONTROLLER_PORT (Kafka's controller) is taken by $(describe "$(listener "$KAFKA_CONTROLLER_PORT")")" \
        "stop that process, or use another port: NEWSVIGIL_KAFKA_CONTROLLER_PORT=<port>"
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
  # -Dnewsvigil.services marks the process as ours for other checkouts (see newsvigil_server).
  local java_opts=(-Xms512m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
                   "-Dnewsvigil.services=$dir" "-Dlog4j.configuration=file:$dir/log4j.properties" -cp "$KAFKA_LIBS/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    java "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 \
      || die "formatting Kafka storage failed (see $dir/format.log)" "remove $dir and retry"
  fi
  : > "$dir/server.log"
  # setsid: the broker may serve other checkouts long after this one, so a Ctrl-C or a kill of the
  # process group of the `make test` that started it must not reach it (PostgreSQL does this itself).
  # A background child of a script is never a process group leader, so setsid does not fork and $! is
  # the broker's pid. 9>&-: the broker must not inherit the registry lock, or it would hold it for its
  # whole life.
  nohup setsid java "${java_opts[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 9>&- &
  echo $! > "$dir/pid"
  say "starting kafka (pid $(cat "$dir/pid")) on 127.0.0.1:$KAFKA_PORT"
  for _ in $(seq 1 120); do
    if grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null && port_open "$KAFKA_PORT"; then
      say "kafka is up"; return
    fi
    alive "$(cat "$dir/pid")" || die "kafka exited during start-up (see $dir/server.log and $dir/stdout.log)" "check the logs; remove $dir to start from scratch"
    sleep 0.5
  done
  kill "$(cat "$dir/pid")" 2>/dev/null || true  # not registered: nothing else would ever stop it
  die "kafka did not answer within 60 s (see $dir/server.log)" "check the logs"
}

kafka_stop() {
  stop_pid "$1" TERM KILL kafka
  say "kafka stopped"
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

postgres_dir() {
  # Where the cluster lives: under the state folder, unless the postgres user cannot reach it
  # (a checkout below a private home folder); then a folder in /tmp, remembered here.
  if [ -f "$STATE/postgres.location" ]; then cat "$STATE/postgres.location"; else echo "$STATE/postgres"; fi
}

postgres_own_pid() {  # the postmaster of this checkout's cluster, if it runs
  local dir pid; dir="$(postgres_dir)"
  pid="$(head -n1 "$dir/data/postmaster.pid" 2>/dev/null)" && alive "$pid" && [[ "$(cmdline "$pid")" == *"$dir/"* ]] || return 1
  echo "$pid"
}

postgres_start() {
  local dir; dir="$(postgres_dir)"
  pg_install
  local bin; bin="$(pg_bin)"
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
  # cluster_name marks the server as ours for other checkouts (see newsvigil_server); 9>&-: the
  # server must not inherit the registry lock, or it would hold it for its whole life.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PG_PORT -k $dir -c cluster_name=newsvigil -c fsync=off -c synchronous_commit=off -c max_connections=200" \
      start >/dev/null 9>&- \
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

postgres_stop() {
  # SIGINT is PostgreSQL's fast shutdown (what pg_ctl -m fast sends); it works from any checkout,
  # which may not know the cluster's folder.
  stop_pid "$1" INT QUIT postgres
  say "postgres stopped"
}

# ---------------------------------------------------------------- main
each() {  # action service...: run claim or release for each service under its lock
  local action=$1 svc; shift
  for svc in "$@"; do
    case "$svc" in kafka|postgres) ;; *) die "unknown service '$svc'" "use kafka or postgres";; esac
    with_lock "$REGISTRY/$svc-$(port_of "$svc")" "$action" "$svc" "$(port_of "$svc")"
  done
}

cmd="${1:-}"; shift || true
services=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do services+=("$1"); shift; done
[ ${#services[@]} -gt 0 ] || services=(kafka postgres)
case "$cmd" in
  up) each claim "${services[@]}" ;;
  down) each release "${services[@]}" ;;
  run)
    [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || die "usage: services/services.sh run [kafka|postgres]... -- COMMAND..." "e.g. services/services.sh run -- pytest"
    # The lease is this process's: it lasts while COMMAND runs, and dies with it if this is killed.
    LEASE="pid-$$"
    # Give back the leases taken so far however this ends (COMMAND failing, Ctrl-C, a failed start),
    # keeping the exit status.
    claimed=()
    finish() {
      local status=$?
      trap - EXIT
      if [ ${#claimed[@]} -gt 0 ]; then each release "${claimed[@]}" || true; fi
      exit "$status"
    }
    trap finish EXIT
    for svc in "${services[@]}"; do each claim "$svc"; claimed+=("$svc"); done
    # Point the tests at these servers (custom ports included), unless the caller chose others.
    export NEWSVIGIL_TEST_KAFKA="${NEWSVIGIL_TEST_KAFKA:-kafka://127.0.0.1:$KAFKA_PORT}"
    export NEWSVIGIL_TEST_POSTGRES="${NEWSVIGIL_TEST_POSTGRES:-postgresql+psycopg://$PG_USER:$PG_USER@127.0.0.1:$PG_PORT/$PG_DB}"
    "$@" ;;
  status)
    for svc in "${services[@]}"; do
      port="$(port_of "$svc")"; entry="$REGISTRY/$svc-$port"
      if pid="$(registered_pid "$entry")"; then
        echo "$svc: up on 127.0.0.1:$port (pid $pid, from $(cat "$entry/dir"); used by: $(lease_holders "$entry" | grep . || echo "no one any more"))"
      elif port_open "$port"; then
        echo "$svc: port $port answers, outside the registry: $(describe "$(listener "$port")")"
      else
        echo "$svc: down"
      fi
    done ;;
  env)
    echo "NEWSVIGIL_TEST_KAFKA=kafka://127.0.0.1:$KAFKA_PORT"
    echo "NEWSVIGIL_TEST_POSTGRES=postgresql+psycopg://$PG_USER:$PG_USER@127.0.0.1:$PG_PORT/$PG_DB" ;;
  *) die "usage: services/services.sh up|down|run|status|env [kafka|postgres]..." "try: services/services.sh up" ;;
esac
