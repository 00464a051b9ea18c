#!/usr/bin/env bash
# What Palimpsest scales out with on PostgreSQL, built on one machine from Debian's packages
# (docs/deployment.md#scaling-out):
#
#   deploy/local-cluster.sh replica-up     # a hot standby on 127.0.0.1:$REPLICA_PORT (5434)
#   deploy/local-cluster.sh replica-status
#   deploy/local-cluster.sh replica-down   # stops it (by its pid) and removes its data
#   deploy/local-cluster.sh pgbouncer-up   # PgBouncer, transaction pooling, on $PGBOUNCER_PORT (6432)
#   deploy/local-cluster.sh pgbouncer-status
#   deploy/local-cluster.sh pgbouncer-down
#
#   deploy/local-cluster.sh up       # the whole topology, on a primary of its own (below)
#   deploy/local-cluster.sh status
#   deploy/local-cluster.sh drill    # up, the failover drill (deploy/failover_drill.py), down
#   deploy/local-cluster.sh down
#
# `up` builds, under $CLUSTER_DIR/full and without touching the machine's PostgreSQL: a primary
# (a PostgreSQL cluster of its own, port 5435), its streaming replica (5436), PgBouncer before
# the primary (6433), three `palimpsest serve` nodes (8091-8093) reaching the primary through
# PgBouncer, LISTENing on it directly and reading from the replica through PgBouncer too, and
# HAProxy before them
# (http://127.0.0.1:8090). The binary is $PALIMPSEST_BIN, else `palimpsest` on PATH; $NODE_FLAGS
# adds `palimpsest serve` flags to every node of `up` (the drill sets its own).
#
# The primary is the cluster at $PRIMARY_HOST:$PRIMARY_PORT (127.0.0.1:5432). replica-up lets
# the primary take replication connections from 127.0.0.1 (a line in its pg_hba.conf, then a
# reload), copies it with pg_basebackup (-R: the copy starts as a standby streaming from it)
# and starts the copy with its own configuration under $CLUSTER_DIR. Run as root (it runs
# PostgreSQL and PgBouncer as postgres, and may install Debian packages).
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1} PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5434}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}
# The statement timeout PgBouncer's server connections carry (a transaction pooler cannot pass
# the server's own on), and how many server connections each database gets.
POOLER_STATEMENT_TIMEOUT_MS=${POOLER_STATEMENT_TIMEOUT_MS:-5000}
POOLER_POOL_SIZE=${POOLER_POOL_SIZE:-8}
# How long a query may wait in PgBouncer's queue for a server connection, in seconds: below the
# server's 10 s request deadline, so that a read sent to a replica that has just gone away is
# answered UNAVAILABLE (which takes the replica out of rotation and is retried) rather than
# held until the deadline. PgBouncer's default is 120.
POOLER_QUERY_WAIT_TIMEOUT_S=${POOLER_QUERY_WAIT_TIMEOUT_S:-5}
CLUSTER_DIR=${CLUSTER_DIR:-/var/tmp/palimpsest-cluster}
version=$(ls /etc/postgresql | sort -n | tail -n1)
bin=/usr/lib/postgresql/$version/bin
data=$CLUSTER_DIR/replica

as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
primary_sql() { psql -X -At -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -c "$1"; }
replica_sql() { psql -X -At -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -c "$1"; }

replica_up() {
  if [ -f "$data/postmaster.pid" ] && replica_sql "SELECT pg_is_in_recovery()" 2>/dev/null | grep -q t; then
    echo "replica already streaming on 127.0.0.1:$REPLICA_PORT"; return
  fi
  # Replication connections are matched only by lines naming `replication`.
  if [ "$(primary_sql "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)")" = 0 ]; then
    hba=$(primary_sql "SHOW hba_file")
    echo "host replication all 127.0.0.1/32 trust  # palimpsest deploy/local-cluster.sh" >>"$hba"
    primary_sql "SELECT pg_reload_conf()" >/dev/null
  fi
  mkdir -p "$CLUSTER_DIR"; chown postgres: "$CLUSTER_DIR" 2>/dev/null || true
  [ ! -f "$data/postmaster.pid" ] || as_postgres "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$data"
  as_postgres "$bin/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -D "$data" -R -X stream -c fast
  # A hot standby needs at least the primary's value of each of these.
  extra=""
  for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
    extra+="$setting = $(primary_sql "SHOW $setting")"$'\n'
  done
  as_postgres tee "$data/postgresql.conf" >/dev/null <<CONF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER_DIR'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 128MB
$extra
CONF
  as_postgres tee "$data/pg_hba.conf" >/dev/null <<'HBA'
local all all trust
host all all 127.0.0.1/32 trust
HBA
  as_postgres "$bin/pg_ctl" -D "$data" -l "$CLUSTER_DIR/replica.log" -w -t 60 start >/dev/null
  for _ in $(seq 1 60); do
    [ "$(replica_sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ] && break; sleep 0.5
  done
  replica_status
}

replica_status() {
  if ! state=$(replica_sql "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()" 2>/dev/null); then
    echo "no replica answers on 127.0.0.1:$REPLICA_PORT"; return 1
  fi
  echo "replica on 127.0.0.1:$REPLICA_PORT (pid $(head -n1 "$data/postmaster.pid")): in recovery|replayed = $state; primary at $(primary_sql "SELECT pg_current_wal_lsn()")"
  echo "read replica URL: postgres://postgres@127.0.0.1:$REPLICA_PORT/DATABASE (the primary's database name)"
}

replica_down() {
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -n1 "$data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true   # PostgreSQL's fast shutdown
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -rf "$data"
  echo "replica stopped and removed"
}

# sqlx prepares named statements, which a transaction pooler must track across its server
# connections: PgBouncer 1.21 or later with max_prepared_statements. Debian bookworm ships 1.18;
# then the release Debian trixie ships is built from Debian's source package (checked against
# its published digest) into $PGBOUNCER_BUILD, once.
PGBOUNCER_SOURCE_VERSION=1.24.1
PGBOUNCER_SOURCE_SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
pgbouncer_dir=$CLUSTER_DIR/pgbouncer
PGBOUNCER_BUILD=${PGBOUNCER_BUILD:-/var/tmp/palimpsest-pgbouncer-$PGBOUNCER_SOURCE_VERSION}

pgbouncer_bin() {
  if command -v pgbouncer >/dev/null; then
    local v; v=$(pgbouncer --version | head -n1 | awk '{print $2}')
    if [ "$(printf '%s\n1.21\n' "$v" | sort -V | head -n1)" = 1.21 ]; then command -v pgbouncer; return; fi
  fi
  local built=$PGBOUNCER_BUILD/bin/pgbouncer
  if [ ! -x "$built" ]; then
    echo "building PgBouncer $PGBOUNCER_SOURCE_VERSION from Debian's source package (Debian's is older than 1.21)" >&2
    local need=()
    for pkg in libevent-dev libssl-dev pkgconf make gcc; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
    if [ ${#need[@]} -gt 0 ]; then
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } || exit 1
    fi
    # Called as $(pgbouncer_bin), where `set -e` does not hold: each step stops it itself.
    local src; src=$(mktemp -d)
    curl -sSfL -o "$src/src.tar.gz" \
      "http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_$PGBOUNCER_SOURCE_VERSION.orig.tar.gz" || exit 1
    echo "$PGBOUNCER_SOURCE_SHA256  $src/src.tar.gz" | sha256sum -c --quiet \
      || { echo "the PgBouncer source does not match Debian's digest" >&2; exit 1; }
    tar -xzf "$src/src.tar.gz" -C "$src" || exit 1
    (cd "$src/pgbouncer-$PGBOUNCER_SOURCE_VERSION" \
      && ./configure --prefix="$PGBOUNCER_BUILD" --without-cares \
           --without-pam --without-systemd >"$src/build.log" 2>&1 \
      && make -j"$(nproc)" >>"$src/build.log" 2>&1 && make install >>"$src/build.log" 2>&1) \
      || { cat "$src/build.log" >&2; exit 1; }
    rm -rf "$src"
  fi
  echo "$built"
}

pgbouncer_up() {
  if pgbouncer_status >/dev/null 2>&1; then pgbouncer_status; return; fi
  mkdir -p "$pgbouncer_dir"
  local bin; bin=$(pgbouncer_bin)
  # Any database, reached by its name, with the statement timeout on every server connection;
  # palimpsest_untimed lacks it, for the test that a server refuses such a pooler. With
  # POOLED_REPLICA_DATABASE=DB, DB_replica is that database on the replica.
  cat >"$pgbouncer_dir/pgbouncer.ini" <<INI
[databases]
palimpsest_untimed = host=$PRIMARY_HOST port=$PRIMARY_PORT dbname=postgres
* = host=$PRIMARY_HOST port=$PRIMARY_PORT connect_query='SET statement_timeout = $POOLER_STATEMENT_TIMEOUT_MS'
$([ -z "${POOLED_REPLICA_DATABASE:-}" ] || echo "${POOLED_REPLICA_DATABASE}_replica = host=127.0.0.1 port=$REPLICA_PORT dbname=$POOLED_REPLICA_DATABASE connect_query='SET statement_timeout = $POOLER_STATEMENT_TIMEOUT_MS'")

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $pgbouncer_dir/users.txt
pool_mode = transaction
default_pool_size = $POOLER_POOL_SIZE
max_client_conn = 2000
max_prepared_statements = 500
; After a failed login (the primary restarting) try again within a second, not PgBouncer's 15.
server_login_retry = 1
; A query waits for a server connection no longer than this (see POOLER_QUERY_WAIT_TIMEOUT_S).
query_wait_timeout = $POOLER_QUERY_WAIT_TIMEOUT_S
; PgBouncer and PostgreSQL share this machine: no TLS between them (PgBouncer's default,
; prefer, would encrypt every query and answer on loopback, at a cost in both).
server_tls_sslmode = disable
logfile = $pgbouncer_dir/pgbouncer.log
pidfile = $pgbouncer_dir/pgbouncer.pid
INI
  echo '"postgres" ""' >"$pgbouncer_dir/users.txt"
  chown -R postgres: "$pgbouncer_dir" 2>/dev/null || true
  # PgBouncer will not run as root.
  as_postgres "$bin" -d "$pgbouncer_dir/pgbouncer.ini"
  for _ in $(seq 1 50); do pgbouncer_status >/dev/null 2>&1 && break; sleep 0.2; done
  pgbouncer_status
}

pgbouncer_status() {
  local timeout
  if ! timeout=$(psql -X -At -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U postgres -d postgres -c "SHOW statement_timeout" 2>/dev/null); then
    echo "no PgBouncer answers on 127.0.0.1:$PGBOUNCER_PORT"; return 1
  fi
  echo "PgBouncer on 127.0.0.1:$PGBOUNCER_PORT (pid $(cat "$pgbouncer_dir/pgbouncer.pid" 2>/dev/null)), transaction pooling; its connections' statement_timeout: $timeout"
  echo "pooled URL: postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/DATABASE, with --transaction-pooler --session-database-url postgres://postgres@$PRIMARY_HOST:$PRIMARY_PORT/DATABASE"
}

pgbouncer_down() {
  if [ -f "$pgbouncer_dir/pgbouncer.pid" ]; then
    pid=$(cat "$pgbouncer_dir/pgbouncer.pid")
    kill -INT "$pid" 2>/dev/null || true   # PgBouncer's immediate shutdown
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$pgbouncer_dir/pgbouncer.pid"
  echo "PgBouncer stopped"
}

# A PostgreSQL cluster of the script's own as primary, for the whole topology: the drill restarts
# it, which must not disturb anything else on the machine.
primary_data=$CLUSTER_DIR/primary

primary_up() {
  [ "$PRIMARY_PORT" != 5432 ] || { echo "primary-up makes a cluster of its own: set PRIMARY_PORT" >&2; exit 2; }
  if pg_isready -h 127.0.0.1 -p "$PRIMARY_PORT" -q 2>/dev/null; then return; fi
  mkdir -p "$CLUSTER_DIR"; chown postgres: "$CLUSTER_DIR" 2>/dev/null || true
  if [ ! -f "$primary_data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$primary_data" -U postgres --auth=trust >/dev/null
    as_postgres tee -a "$primary_data/postgresql.conf" >/dev/null <<CONF
port = $PRIMARY_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$CLUSTER_DIR'
max_connections = 200
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 10
CONF
    as_postgres tee "$primary_data/pg_hba.conf" >/dev/null <<'HBA'
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
HBA
  fi
  as_postgres "$bin/pg_ctl" -D "$primary_data" -l "$CLUSTER_DIR/primary.log" -w -t 60 start >/dev/null
}

primary_down() {
  [ "$PRIMARY_PORT" != 5432 ] || { echo "primary-down stops only a cluster of the script's own" >&2; exit 2; }
  [ ! -f "$primary_data/postmaster.pid" ] || as_postgres "$bin/pg_ctl" -D "$primary_data" -m fast -w stop >/dev/null || true
  rm -rf "$primary_data"
}

full=$CLUSTER_DIR/full
LB_PORT=${LB_PORT:-8090}
NODE_PORTS=(8091 8092 8093)
DATABASE=${DATABASE:-palimpsest}
# The parts of the topology, each run by this script with its own ports and folder.
part() { CLUSTER_DIR=$full PRIMARY_PORT=5435 REPLICA_PORT=5436 PGBOUNCER_PORT=6433 bash "$0" "$@"; }

node_up() {
  local n=$1 port=${NODE_PORTS[$(($1 - 1))]} palimpsest
  palimpsest=${PALIMPSEST_BIN:-$(command -v palimpsest)} || { echo "set PALIMPSEST_BIN" >&2; exit 2; }
  if [ -f "$full/node-$n.pid" ] && kill -0 "$(cat "$full/node-$n.pid")" 2>/dev/null; then return; fi
  # Every node the same: the log's one key, the same public URL (the balancer's).
  DATABASE_URL=postgres://postgres@127.0.0.1:6433/$DATABASE RUST_LOG=${RUST_LOG:-info} \
    nohup "$palimpsest" serve --bind "127.0.0.1:$port" \
      --transaction-pooler --session-database-url "postgres://postgres@127.0.0.1:5435/$DATABASE" \
      --read-replica-url "postgres://postgres@127.0.0.1:6433/${DATABASE}_replica" --replica-max-lag-ms 2000 \
      --log-key "$full/log.key" --public-url "http://127.0.0.1:$LB_PORT" ${NODE_FLAGS:-} \
      >>"$full/node-$n.log" 2>&1 &
  disown
  echo $! >"$full/node-$n.pid"
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return
    kill -0 "$(cat "$full/node-$n.pid")" 2>/dev/null || { tail -n 20 "$full/node-$n.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "node $n did not become ready" >&2; exit 1
}

balancer_up() {
  if [ -f "$full/haproxy.pid" ] && kill -0 "$(cat "$full/haproxy.pid")" 2>/dev/null; then return; fi
  # A request is retried on another node only when no connection was made, never once a node
  # may have acted on it: a mutation is not sent twice behind the client's back.
  cat >"$full/haproxy.cfg" <<CFG
global
  maxconn 4000
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 30s
  timeout tunnel 1h
  retries 3
  option redispatch
  retry-on conn-failure
frontend api
  bind 127.0.0.1:$LB_PORT
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
$(for i in 1 2 3; do echo "  server node$i 127.0.0.1:${NODE_PORTS[$((i - 1))]} check"; done)
CFG
  haproxy -D -f "$full/haproxy.cfg" -p "$full/haproxy.pid"
}

cluster_up() {
  command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
  mkdir -p "$full"; chown postgres: "$full" 2>/dev/null || true
  part primary-up
  part replica-up >/dev/null
  POOLED_REPLICA_DATABASE=$DATABASE part pgbouncer-up >/dev/null
  psql -X -q -h 127.0.0.1 -p 5435 -U postgres -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1 \
    || psql -X -q -h 127.0.0.1 -p 5435 -U postgres -d postgres -c "CREATE DATABASE \"$DATABASE\""
  # The first node migrates (and seeds) alone; then the others.
  for n in 1 2 3; do node_up "$n"; done
  balancer_up
  cluster_status
}

cluster_status() {
  echo "primary 127.0.0.1:5435, replica 127.0.0.1:5436, PgBouncer 127.0.0.1:6433 (database $DATABASE)"
  for n in 1 2 3; do
    local port=${NODE_PORTS[$((n - 1))]} pid; pid=$(cat "$full/node-$n.pid" 2>/dev/null || true)
    echo "node $n http://127.0.0.1:$port (pid ${pid:-none}): $(curl -s -m 2 "http://127.0.0.1:$port/readyz" || echo down)"
  done
  echo "balancer http://127.0.0.1:$LB_PORT/graphql (pid $(cat "$full/haproxy.pid" 2>/dev/null || echo none))"
}

stop_pid_file() {
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$1"
}

cluster_down() {
  stop_pid_file "$full/haproxy.pid"
  for n in 1 2 3; do stop_pid_file "$full/node-$n.pid"; done
  part pgbouncer-down >/dev/null
  part replica-down >/dev/null
  part primary-down
  rm -rf "$full"
  echo "cluster stopped and removed"
}

case "${1:-}" in
  up) cluster_up ;;
  status) cluster_status ;;
  down) cluster_down ;;
  drill)
    # Its captures fetch a page site of its own on loopback; claims held 5 s, so those a
    # killed node held are taken again within the drill; captures never rest for its load.
    # Four captures at once per node, so that each holds some when one is killed.
    export NODE_FLAGS="--capture-allow 127.0.0.0/8 --capture-lease-seconds 5 --capture-share-when-busy 100 --capture-concurrency 4"
    for n in 1 2 3; do
      if [ -f "$full/node-$n.pid" ] && kill -0 "$(cat "$full/node-$n.pid")" 2>/dev/null; then
        echo "a cluster is up: the drill builds its own (run $0 down first)" >&2; exit 2
      fi
    done
    trap cluster_down EXIT
    cluster_up
    python3 "$(dirname "$0")/failover_drill.py" --cluster-dir "$full" --script "$0"
    ;;
  # What the drill does to the topology, and how it is put back.
  kill-node) kill -9 "$(cat "$full/node-$2.pid")" ;;
  start-node) node_up "$2" ;;
  stop-replica) as_postgres "$bin/pg_ctl" -D "$full/replica" -m immediate -w stop >/dev/null ;;
  start-replica) as_postgres "$bin/pg_ctl" -D "$full/replica" -l "$full/replica.log" -w -t 60 start >/dev/null ;;
  restart-primary) as_postgres "$bin/pg_ctl" -D "$full/primary" -m fast -w -t 60 restart -l "$full/primary.log" >/dev/null ;;
  primary-up) primary_up ;;
  primary-down) primary_down ;;
  replica-up) replica_up ;;
  replica-status) replica_status ;;
  replica-down) replica_down ;;
  pgbouncer-up) pgbouncer_up ;;
  pgbouncer-status) pgbouncer_status ;;
  pgbouncer-down) pgbouncer_down ;;
  *) echo "usage: $0 up|status|drill|down|replica-up|replica-status|replica-down|pgbouncer-up|pgbouncer-status|pgbouncer-down" >&2; exit 2 ;;
esac
