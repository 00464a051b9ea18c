#!/usr/bin/env bash
# A PostgreSQL streaming replica of this machine's PostgreSQL, built from Debian's packages, for
# Palimpsest's --read-replica-url (docs/scaling.md):
#
#   deploy/local-cluster.sh replica-up     # a hot standby on 127.0.0.1:$REPLICA_PORT (5434)
#   deploy/local-cluster.sh replica-status
#   deploy/local-cluster.sh replica-down   # stops it (by its pid) and removes its data
#
# The primary is the cluster at $PRIMARY_HOST:$PRIMARY_PORT (127.0.0.1:5432). replica-up lets
# the primary take replication connections from 127.0.0.1 (a line in its pg_hba.conf, then a
# reload), copies it with pg_basebackup (-R: the copy starts as a standby streaming from it)
# and starts the copy with its own configuration under $CLUSTER_DIR. Run as root or postgres.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1} PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5434}
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

case "${1:-}" in
  replica-up) replica_up ;;
  replica-status) replica_status ;;
  replica-down) replica_down ;;
  *) echo "usage: $0 replica-up | replica-status | replica-down" >&2; exit 2 ;;
esac
