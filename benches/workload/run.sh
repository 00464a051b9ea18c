#!/usr/bin/env bash
# The reference read workload, measured side by side in one run.
#
#   bash benches/workload/run.sh
#
# Generates the corpus (gen_corpus.py: DOCS documents x REVS revisions of 4-8 KB news prose,
# deterministic from SEED), loads it through the API into each database once (kept under
# $WORKLOAD_DIR for the next run), starts a release server per database, and measures with wrk
# the three queries over random documents and random pages:
#
#   q1  a document with its head's text             palimpsest/q1_document_latest.json
#   q2  a document's 20 newest revisions             palimpsest/q2_history20.json
#   q3  a page of 50 documents with their sources    palimpsest/q3_page50.json
#
# When PostGraphile answers at $POSTGRAPHILE_URL (../shared/peers/README.md stands it up over
# the same corpus), the same three queries (postgraphile/) run against it in the same run and
# the table gives our ratios to it. Each figure is the median of $RUNS runs after a warm-up.
#
# Env: DOCS (1000) REVS (20) SEED (1)   DATABASES ("sqlite postgres")
#      DURATION (15s) WARMUP (5s) RUNS (3) THREADS (2) CONNS (32)   as wrk takes them
#      PALIMPSEST_BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres): the
#        server the PostgreSQL half creates its database on
#      POSTGRAPHILE_URL (http://127.0.0.1:5000/graphql)   SERVER_FLAGS: extra `serve` flags
#      WORKLOAD_DIR (target/workload)   FRESH=1 reloads the corpus
#      SOAK=SECONDS: a soak of mixed reads and writes instead of the measures (see below)
#      CAPTURE=PAGES: q1 idle, then while the server captures PAGES new pages (see below;
#        the corpus is loaded afresh)
#      BIN=PATH: the build to measure (this checkout's release build by default)
#      BASELINE_BIN=PATH: another build of `palimpsest` (say, main's before a change), served
#        over the same databases beside this one; each query is measured on both, turn about
#        ($RUNS rounds), and this build's median ratio to it printed, instead of the table;
#        BASELINE_FORGET="m2026…": migrations the baseline predates (see below)
#      REPLICA=URL: the cost per request with and without a read replica (see below)
#      PGBOUNCER=URL: the cost per request directly and through PgBouncer (see below)
#      ACCESS=N: a member's q1 of N documents moved into a restricted collection, against the
#        same member's q1 of public ones (see below)
#      MIXED=SECONDS: readers crowding onto hot documents beside steady writes, against
#        PostGraphile in the same run (see below); WRITE_RATES ("10 50") ZIPF_S (1.1)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/workload
DOCS=${DOCS:-1000} REVS=${REVS:-20} SEED=${SEED:-1}
DURATION=${DURATION:-15s} WARMUP=${WARMUP:-5s} RUNS=${RUNS:-3} THREADS=${THREADS:-2} CONNS=${CONNS:-32}
DATABASES=${DATABASES:-"sqlite postgres"}
pg_url=${PALIMPSEST_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
peer_url=${POSTGRAPHILE_URL:-http://127.0.0.1:5000/graphql}
target=${CARGO_TARGET_DIR:-target}
bin=${BIN:-$target/release/palimpsest}
work=$(mkdir -p "${WORKLOAD_DIR:-$target/workload}" && cd "${WORKLOAD_DIR:-$target/workload}" && pwd)/d$DOCS-r$REVS-s$SEED
mkdir -p "$work"

command -v wrk >/dev/null || {
  if [ "$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk
  else echo "wrk is needed: apt-get install wrk" >&2; exit 2; fi
}
[ -n "${BIN:-}" ] || cargo build --release --quiet --bin palimpsest

corpus=$work/corpus.jsonl
if [ ! -s "$corpus" ]; then
  echo "== generating the corpus: $DOCS documents x $REVS revisions, seed $SEED"
  python3 $here/gen_corpus.py --docs "$DOCS" --revs "$REVS" --seed "$SEED" --out "$corpus.tmp"
  mv "$corpus.tmp" "$corpus"
fi

# CAPTURE: the server captures with one worker, from the local fixture site only, on a
# database loaded afresh: watches left due by an earlier run would be captured while "idle".
if [ -n "${CAPTURE:-}" ]; then
  SERVER_FLAGS="${SERVER_FLAGS:-} --capture-workers 1 --capture-allow 127.0.0.0/8 --capture-per-host-per-minute 1000000"
  FRESH=1
fi

servers=()
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

pg_database=palimpsest_workload_d${DOCS}_r${REVS}_s${SEED}
database_url() {
  case $1 in
    sqlite) echo "sqlite://$work/sqlite/palimpsest.db" ;;
    postgres) echo "${pg_url%/*}/$pg_database" ;;
  esac
}
reset_database() {
  rm -rf "${work:?}/$1"; mkdir -p "$work/$1"
  if [ "$1" = postgres ]; then
    psql -X -q "$pg_url" -c "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" -c "CREATE DATABASE $pg_database"
  fi
}

# start DB PORT [URL]: a release server on the database (or URL), its pid in $server
start() {
  local db=$1 port=$2 url=${3:-}
  [ -n "$url" ] || url=$(database_url "$db")
  # Rate limits off: one client sending thousands of requests a second is the point here.
  # shellcheck disable=SC2086
  DATABASE_URL="$url" RUST_LOG=warn "$bin" serve --no-seed --bind "127.0.0.1:$port" \
    --log-key "$work/$db/log.key" --rate-limit-anonymous 0 --rate-limit-token 0 ${SERVER_FLAGS:-} \
    >>"$work/$db/server.log" 2>&1 &
  server=$!; servers+=("$server")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
  echo "the $db server did not start; see $work/$db/server.log" >&2; exit 1
}

# CPU time in clock ticks: of the processes named, and of every PostgreSQL process (its
# backends persist in the server's pool, so the difference over a run is what the run cost
# the database; run nothing else against it meanwhile).
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
pg_ticks() { ticks $(pgrep -u postgres 2>/dev/null); }
# cluster_ticks POSTMASTER_PID: one PostgreSQL cluster's (its postmaster and its children).
cluster_ticks() { ticks "$1" $(pgrep -P "$1"); }
# DB_TICKS / REPLICA_TICKS: what `measure` counts as the database's and the replica's CPU
# (every PostgreSQL process, and nothing, unless the REPLICA mode below splits them).
DB_TICKS=pg_ticks REPLICA_TICKS="echo 0"
hz=$(getconf CLK_TCK)
# STATEMENTS_RESET / STATEMENTS_REPORT N: pg_stat_statements around each run (STATEMENTS=1 in
# the REPLICA and PGBOUNCER modes below); nothing otherwise.
STATEMENTS_RESET=: STATEMENTS_REPORT=:

# measure LABEL URL BODY PICKS: median req/s, p50 and p99 of $RUNS wrk runs ($AUTH: a token
# sent with each request). With COST_PID (the server's pid) set, two more columns: the median
# CPU-µs per request spent by that server and by PostgreSQL — cost, which the machine's other
# load moves far less than throughput.
measure() {
  local label=$1 url=$2 body=$3 picks=$4 out="$work/results/$1.txt"
  local auth=(); [ -z "${AUTH:-}" ] || auth=(-H "Authorization: Bearer $AUTH")
  mkdir -p "$work/results"; : >"$out"
  local first; first=$(head -n1 "$picks")
  if curl -sS -m 10 -H 'content-type: application/json' "${auth[@]}" \
      -d "$(sed "s|__ID__|$first|" "$body")" "$url" | grep -q '"errors"'; then
    echo "pre-flight of $label failed" >&2; return 1
  fi
  [ "$WARMUP" = 0 ] || wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${auth[@]}" -s $here/pick.lua "$url" -- "$body" "$picks" >/dev/null
  for _ in $(seq 1 "$RUNS"); do
    local s0 d0 r0 s1 d1 r1
    $STATEMENTS_RESET
    s0=$(ticks ${COST_PID:-}); d0=$($DB_TICKS); r0=$($REPLICA_TICKS)
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s --latency "${auth[@]}" -s $here/pick.lua "$url" -- "$body" "$picks" >"$out.wrk"
    s1=$(ticks ${COST_PID:-}); d1=$($DB_TICKS); r1=$($REPLICA_TICKS)
    $STATEMENTS_REPORT "$(awk '/ requests in /{print $1}' "$out.wrk")" >"$out.statements"
    awk -v ds=$((s1 - s0)) -v dd=$((d1 - d0)) -v dr=$((r1 - r0)) -v hz="$hz" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 }
        /^Requests\/sec:/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        / requests in / { n = $1 }
        /Non-2xx/ { bad += $NF } /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %d %.1f %.1f %.1f\n", rps, p50, p99, bad, ds * 1e6 / hz / n, dd * 1e6 / hz / n, dr * 1e6 / hz / n }' "$out.wrk" >>"$out"
  done
  # medians of each column
  for c in 1 2 3; do cut -d' ' -f$c "$out" | sort -g | awk '{a[NR]=$1} END{printf "%s ", a[int((NR+1)/2)]}'; done
  awk '{s += $4} END{printf "%s", s}' "$out"
  if [ -n "${COST_PID:-}" ]; then
    for c in 5 6 7; do cut -d' ' -f$c "$out" | sort -g | awk '{a[NR]=$1} END{printf " %s", a[int((NR+1)/2)]}'; done
  fi
  echo
}

declare -A result
rss() { awk '/^VmHWM/{printf "%.0f MB", $2/1024}' "/proc/$1/status"; }
port=18300
for db in $DATABASES; do
  port=$((port + 1))
  picks_ok=false
  if [ -z "${FRESH:-}" ] && [ -s "$work/$db/ids.txt" ]; then
    start "$db" "$port"
    first=$(head -n1 "$work/$db/ids.txt")
    curl -sS -H 'content-type: application/json' -d "$(sed "s|__ID__|$first|" $here/palimpsest/q1_document_latest.json)" \
      "http://127.0.0.1:$port/graphql" | grep -q '"head"' && picks_ok=true
    $picks_ok || { kill "$server"; wait "$server" 2>/dev/null || true; }
  fi
  if ! $picks_ok; then
    echo "== loading the corpus into $db"
    reset_database "$db"
    # `token create` works on an existing database only: `migrate` creates it.
    DATABASE_URL=$(database_url "$db") "$bin" migrate >/dev/null
    token=$(DATABASE_URL=$(database_url "$db") "$bin" token create --agent "Workload loader" --role editor)
    start "$db" "$port"
    python3 $here/load_corpus.py "$corpus" "http://127.0.0.1:$port" "$token" "$work/$db"
    # What autovacuum would do to the new rows now, done before anything is measured.
    [ "$db" != postgres ] || psql -X -q "$(database_url "$db")" -c "VACUUM ANALYZE"
  fi
  eval "port_$db=$port pid_$db=$server"
done

peer=false
if curl -sf -m 2 -H 'content-type: application/json' -d '{"query":"{ __typename }"}' "$peer_url" >/dev/null 2>&1; then
  peer=true
  seq 1 "$DOCS" >"$work/peer-ids.txt"
  seq 0 $((DOCS > 50 ? DOCS - 50 : 0)) >"$work/peer-offsets.txt"
else
  echo "(PostGraphile is not answering at $peer_url: measuring Palimpsest alone)"
fi

# MIXED=SECONDS: readers as they come, beside writers, for that long per write rate. Reads
# (zipf.lua): q1 60 %, q2 25 %, q3 15 %, each over a pick drawn Zipf(ZIPF_S) from its picks
# (documents and pages in the corpus's order, so the first documents are the most read — the
# same ones on both sides); writes (steady_writes.py): each of WRITE_RATES revisions a second,
# half to the 20 most read documents, through the API — and for PostGraphile the same rows by
# SQL at the same rate. Says reads/s, p50/p99/p99.9, writes/s, the response cache's hit rate
# (from /metrics) and the server's RSS, and the ratio to PostGraphile in the same run.
if [ -n "${MIXED:-}" ]; then
  zipf=${ZIPF_S:-1.1}
  mixed_reads() { # URL Q1 Q2 Q3 IDS PAGES
    wrk -t"$THREADS" -c"$CONNS" -d"${MIXED}s" --timeout 5s -s $here/zipf.lua "$1" -- "$zipf" \
      60 "$2" "$5" 25 "$3" "$5" 15 "$4" "$6"
  }
  hits() { curl -sf "$1/metrics" | awk '/^palimpsest_response_cache_requests_total\{result="hit"\}/{h=$2} /^palimpsest_response_cache_requests_total\{result="miss"\}/{m=$2} END{print h+0, m+0}'; }
  report() { # LABEL WRK_OUTPUT WRITES_OUTPUT
    awk -v label="$1" -v writes="$(cat "$3")" '/^Requests\/sec:/{rps=$2} /^latency ms:/{lat=$4" / "$6" / "$8} /^graphql errors:/{err=$3}
      /Non-2xx/{bad+=$NF} /Socket errors/{gsub(",", ""); bad+=$4+$6+$8+$10}
      END{printf "%s: %.0f reads/s, p50/p99/p99.9 %s ms, %d errors; %s\n", label, rps, lat, err+bad, writes}' "$2"
  }
  for rate in ${WRITE_RATES:-10 50}; do
    echo "## mixed reads (Zipf s=$zipf: q1 60 %, q2 25 %, q3 15 %) for ${MIXED}s beside $rate writes/s; serve flags: ${SERVER_FLAGS:-none}"
    if $peer; then
      python3 $here/steady_writes.py sql "${PEER_DATABASE_URL:-postgres://peers:peers@127.0.0.1:5433/peers}" - "$work/peer-ids.txt" "$rate" "$MIXED" \
        >"$work/mixed-writes-peer.txt" 2>"$work/mixed-write-errors-peer.txt" &
      writer=$!
      mixed_reads "$peer_url" $here/postgraphile/q1_document_latest.json $here/postgraphile/q2_history20.json \
        $here/postgraphile/q3_page50.json "$work/peer-ids.txt" "$work/peer-offsets.txt" >"$work/mixed-wrk-peer.txt"
      wait "$writer"
      peer_line=$(report "PostGraphile" "$work/mixed-wrk-peer.txt" "$work/mixed-writes-peer.txt")
      echo "$peer_line"
      peer_rps=$(awk '/^Requests\/sec:/{print $2}' "$work/mixed-wrk-peer.txt")
    fi
    for db in $DATABASES; do
      eval "p=\$port_$db pid=\$pid_$db"
      api="http://127.0.0.1:$p"
      token=$(DATABASE_URL=$(database_url "$db") "$bin" token create --agent "Steady writer $rate $$" --role editor 2>/dev/null)
      read -r h0 m0 <<<"$(hits "$api")"
      python3 $here/steady_writes.py api "$api" "$token" "$work/$db/ids.txt" "$rate" "$MIXED" \
        >"$work/mixed-writes-$db.txt" 2>"$work/mixed-write-errors-$db.txt" &
      writer=$!
      mixed_reads "$api/graphql" $here/palimpsest/q1_document_latest.json $here/palimpsest/q2_history20.json \
        $here/palimpsest/q3_page50.json "$work/$db/ids.txt" "$work/$db/cursors.txt" >"$work/mixed-wrk-$db.txt"
      wait "$writer"
      read -r h1 m1 <<<"$(hits "$api")"
      line=$(report "Palimpsest $db" "$work/mixed-wrk-$db.txt" "$work/mixed-writes-$db.txt")
      rps=$(awk '/^Requests\/sec:/{print $2}' "$work/mixed-wrk-$db.txt")
      echo "$line; cache hits $(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN{printf "%.1f %%", (h + m) ? 100 * h / (h + m) : 0}'); RSS $(awk '/^VmRSS/{printf "%.0f MB", $2/1024}' "/proc/$pid/status") (peak $(rss "$pid"))$($peer && awk -v a="$rps" -v b="$peer_rps" 'BEGIN{printf "; %.1fx PostGraphile", a / b}')"
    done
  done
  exit 0
fi

# SOAK=SECONDS: instead of the measures, the three queries mixed at random for that long with
# a writer revising random documents beside them; says the rates, every error, and the
# server's RSS over time.
if [ -n "${SOAK:-}" ]; then
  for db in $DATABASES; do
    eval "p=\$port_$db pid=\$pid_$db"
    # shellcheck disable=SC2154
    token=$(DATABASE_URL=$(database_url "$db") "$bin" token create --agent "Soak writer" --role editor 2>/dev/null)
    python3 $here/write_load.py "http://127.0.0.1:$p" "$token" "$work/$db/ids.txt" "$SOAK" \
      >"$work/soak-writes-$db.txt" 2>"$work/soak-write-errors-$db.txt" &
    writer=$!
    for _ in $(seq 1 "$SOAK"); do sleep 1; awk '/^VmRSS/{printf "%.0f\n", $2/1024}' "/proc/$pid/status"; done \
      >"$work/soak-rss-$db.txt" &
    sampler=$!
    # Zipf with s = 0 is uniform: the three queries alike, over random documents and pages.
    wrk -t"$THREADS" -c"$CONNS" -d"${SOAK}s" --timeout 5s --latency -s $here/zipf.lua "http://127.0.0.1:$p/graphql" -- 0 \
      1 $here/palimpsest/q1_document_latest.json "$work/$db/ids.txt" 1 $here/palimpsest/q2_history20.json "$work/$db/ids.txt" \
      1 $here/palimpsest/q3_page50.json "$work/$db/cursors.txt" >"$work/soak-wrk-$db.txt"
    wait "$writer" "$sampler"
    rps=$(awk '/^Requests\/sec:/{print $2}' "$work/soak-wrk-$db.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/soak-wrk-$db.txt")
    http_errors=$(awk '/Non-2xx/ {b += $NF} /Socket errors/ {gsub(",", ""); b += $4 + $6 + $8 + $10} END {print b + 0}' "$work/soak-wrk-$db.txt")
    rss=$(awk '{a[NR] = $1} END {printf "%s MB at %ds, %s at %ds, %s at %ds, %s at the end", a[5], 5, a[int(NR/3)], int(NR/3), a[int(2*NR/3)], int(2*NR/3), a[NR]}' "$work/soak-rss-$db.txt")
    echo "## soak of ${SOAK}s on $db: $rps req/s of mixed reads (p99 $p99), $(cat "$work/soak-writes-$db.txt")"
    echo "   HTTP errors: $http_errors, $(grep 'graphql errors' "$work/soak-wrk-$db.txt"); RSS $rss; peak $(rss "$pid")"
  done
  exit 0
fi

# CAPTURE=PAGES: q1 measured idle (twice, the faster kept), then again while the server's
# capture worker captures PAGES new pages of a local fixture site (capture_site.py: ~46 KB
# articles, each a new document), the worker giving way to the readers as `serve` does
# (SERVER_FLAGS="--capture-share-when-busy 100": at full speed); says both rates, their ratio
# and how many pages were captured meanwhile.
if [ -n "${CAPTURE:-}" ]; then
  site_port=18399
  python3 $here/capture_site.py serve $site_port & servers+=("$!")
  count='{ documents(first: 1) { totalCount } }'
  documents() { curl -sS -H 'content-type: application/json' -d "{\"query\":\"$count\"}" "$1" | sed 's/.*"totalCount":\([0-9]*\).*/\1/'; }
  for db in $DATABASES; do
    eval "p=\$port_$db"
    api="http://127.0.0.1:$p/graphql"
    # Idle twice, the faster kept: the first minutes after a load can run slow (PostgreSQL
    # gave 19,000 to 34,000 req/s from run to run), which would flatter the ratio.
    idle=$(measure "q1-idle-$db" "$api" "$here/palimpsest/q1_document_latest.json" "$work/$db/ids.txt")
    again=$(measure "q1-idle-again-$db" "$api" "$here/palimpsest/q1_document_latest.json" "$work/$db/ids.txt")
    [ "$(echo "${again%% *} > ${idle%% *}" | bc)" = 1 ] && idle=$again
    tokens=()
    for n in $(seq 0 $(( (CAPTURE - 1) / 1000 ))); do
      tokens+=("$(DATABASE_URL=$(database_url "$db") "$bin" token create --agent "Capture watcher $n $$" --role editor 2>/dev/null)")
    done
    python3 $here/capture_site.py watch "http://127.0.0.1:$p" "http://127.0.0.1:$site_port" "$CAPTURE" "${tokens[@]}"
    before=$(documents "$api"); started=$(date +%s.%N)
    busy=$(WARMUP=0 measure "q1-capturing-$db" "$api" "$here/palimpsest/q1_document_latest.json" "$work/$db/ids.txt")
    took=$(echo "$(date +%s.%N) - $started" | bc); after=$(documents "$api")
    read -r idle_rps _ idle_p99 _ <<<"$idle"; read -r busy_rps _ busy_p99 _ <<<"$busy"
    echo "## q1 on $db: idle $idle_rps req/s (p99 $idle_p99 ms); capturing $busy_rps req/s (p99 $busy_p99 ms):" \
      "$(awk -v a="$busy_rps" -v b="$idle_rps" 'BEGIN{printf "%.0f %%", 100 * a / b}') of idle;" \
      "$((after - before)) pages captured meanwhile ($(awk -v n=$((after - before)) -v t="$took" 'BEGIN{printf "%.0f", n / t}')/s)"
  done
  exit 0
fi

# ACCESS=N: N documents moved into a restricted collection whose member (a reader token) then
# reads them with q1, against the same token's q1 of public documents: what membership costs
# a read. Both with a token, so neither is answered from the response cache. The documents are
# moved back at the end.
if [ -n "${ACCESS:-}" ]; then
  for db in $DATABASES; do
    eval "p=\$port_$db"
    api="http://127.0.0.1:$p/graphql"
    url=$(database_url "$db")
    DATABASE_URL=$url "$bin" collection create bench-restricted --name "Bench restricted" --restricted 2>/dev/null || true
    DATABASE_URL=$url "$bin" collection create bench-public --name "Bench public" 2>/dev/null || true
    member=$(DATABASE_URL=$url "$bin" token create --agent "Bench member $$" --role reader 2>/dev/null)
    DATABASE_URL=$url "$bin" collection add-member bench-restricted --agent "Bench member $$" --role reader 2>/dev/null
    admin=$(DATABASE_URL=$url "$bin" token create --agent "Bench admin $$" --role admin 2>/dev/null)
    col() { curl -sS -H 'content-type: application/json' -H "Authorization: Bearer $admin" \
      -d "{\"query\":\"{ collection(slug: \\\"$1\\\") { id } }\"}" "$api" | sed 's/.*"id":"\([^"]*\)".*/\1/'; }
    move() { curl -sS -o /dev/null -H 'content-type: application/json' -H "Authorization: Bearer $admin" \
      -d "{\"query\":\"mutation(\$d: ID!, \$c: ID!) { moveDocument(input: {documentId: \$d, collectionId: \$c}) { document { id } } }\",\"variables\":{\"d\":$1,\"c\":\"$2\"}}" "$api"; }
    restricted=$(col bench-restricted); public=$(col public)
    head -n "$ACCESS" "$work/$db/ids.txt" >"$work/$db/restricted-ids.txt"
    tail -n +"$((ACCESS + 1))" "$work/$db/ids.txt" >"$work/$db/public-ids.txt"
    while read -r id; do move "$id" "$restricted"; done <"$work/$db/restricted-ids.txt"
    q1=$here/palimpsest/q1_document_latest.json
    pub=$(AUTH=$member measure "q1-member-public-$db" "$api" "$q1" "$work/$db/public-ids.txt")
    res=$(AUTH=$member measure "q1-member-restricted-$db" "$api" "$q1" "$work/$db/restricted-ids.txt")
    pub2=$(AUTH=$member measure "q1-member-public-again-$db" "$api" "$q1" "$work/$db/public-ids.txt")
    while read -r id; do move "$id" "$public"; done <"$work/$db/restricted-ids.txt"
    read -r pub_rps _ pub_p99 _ <<<"$pub"; read -r res_rps _ res_p99 _ <<<"$res"; read -r pub2_rps _ _ _ <<<"$pub2"
    echo "## q1 by a member on $db: public $pub_rps then $pub2_rps req/s (p99 $pub_p99 ms);" \
      "restricted $res_rps req/s (p99 $res_p99 ms): $(awk -v a="$res_rps" -v b="$pub_rps" -v c="$pub2_rps" 'BEGIN{printf "%.0f %%", 200 * a / (b + c)}') of public"
  done
  exit 0
fi

# BASELINE_BIN: the other build, on the same databases, each on its own port. A baseline from
# before a migration would refuse a database that has it: BASELINE_FORGET (migration versions,
# space-separated) serves it a copy of each database with those rows taken out of
# seaql_migrations (their tables and columns stay, which a build from before ignores). Not for
# a migration that rewrites data a build from before reads (m20261215_000001_binary_digests:
# digests as bytes): compare such builds on databases each imported itself.
baseline_copy() {
  local db=$1 copy
  case $db in
    sqlite)
      copy=$work/sqlite-baseline/palimpsest.db; rm -rf "$work/sqlite-baseline"; mkdir -p "$work/sqlite-baseline"
      sqlite3 "$work/sqlite/palimpsest.db" ".backup '$copy'"
      for v in $BASELINE_FORGET; do sqlite3 "$copy" "DELETE FROM seaql_migrations WHERE version = '$v'"; done
      echo "sqlite://$copy" ;;
    postgres)
      copy=${pg_database}_baseline
      psql -X -q "$pg_url" -c "DROP DATABASE IF EXISTS $copy WITH (FORCE)" -c "CREATE DATABASE $copy" >&2
      pg_dump "$(database_url postgres)" | psql -X -q "${pg_url%/*}/$copy" >/dev/null
      for v in $BASELINE_FORGET; do psql -X -q "${pg_url%/*}/$copy" -c "DELETE FROM seaql_migrations WHERE version = '$v'" >&2; done
      # A restored database has no statistics yet: the planner's, as the original's.
      psql -X -q "${pg_url%/*}/$copy" -c "VACUUM ANALYZE" >&2
      echo "${pg_url%/*}/$copy" ;;
  esac
}
if [ -n "${BASELINE_BIN:-}" ]; then
  for db in $DATABASES; do
    eval "p=\$port_$db"
    url=""; [ -z "${BASELINE_FORGET:-}" ] || url=$(baseline_copy "$db")
    saved=$bin; bin=$BASELINE_BIN; start "$db" $((p + 50)) "$url"; bin=$saved
    eval "base_port_$db=$((p + 50)) base_pid_$db=$server"
  done
fi

# ab LABEL URL_THIS PID_THIS URL_BASE PID_BASE BODY PICKS: the two builds measured turn about
# (the order swapped each round, so that drift favours neither), $RUNS rounds; prints the
# median ratio this/base of req/s, each build's median req/s and p99, and the median CPU-µs
# per request each spent, in the server and in PostgreSQL (cost ratio: this/base, lower is
# cheaper). Throughput swings ±15 % between rounds on this shared machine; CPU per request
# far less, so a few per cent show there first.
ab() {
  local label=$1 this=$2 this_pid=$3 base=$4 base_pid=$5 body=$6 picks=$7 out="$work/results/$1-ab.txt" a b warm=$WARMUP
  mkdir -p "$work/results"; : >"$out"
  for r in $(seq 1 "$RUNS"); do
    if [ $((r % 2)) = 1 ]; then
      a=$(RUNS=1 WARMUP=$warm COST_PID=$this_pid measure "$label-this-$r" "$this" "$body" "$picks")
      b=$(RUNS=1 WARMUP=$warm COST_PID=$base_pid measure "$label-base-$r" "$base" "$body" "$picks")
    else
      b=$(RUNS=1 WARMUP=$warm COST_PID=$base_pid measure "$label-base-$r" "$base" "$body" "$picks")
      a=$(RUNS=1 WARMUP=$warm COST_PID=$this_pid measure "$label-this-$r" "$this" "$body" "$picks")
    fi
    warm=0
    read -r ar _ ap _ as ad _ <<<"$a"; read -r br _ bp _ bs bd _ <<<"$b"
    echo "$ar $br $ap $bp $as $bs $ad $bd" >>"$out"
  done
  awk '{ r[NR] = $1 / $2; a[NR] = $1; b[NR] = $2; ap[NR] = $3; bp[NR] = $4
         as[NR] = $5; bs[NR] = $6; ad[NR] = $7; bd[NR] = $8; t[NR] = ($5 + $7) / ($6 + $8) }
    function med(x, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
      return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
    END { printf "%.3fx (this %.0f req/s, p99 %.2f ms; baseline %.0f req/s, p99 %.2f ms); CPU-us/request server+PostgreSQL: this %.0f+%.0f, baseline %.0f+%.0f, cost %.3fx\n",
      med(r, NR), med(a, NR), med(ap, NR), med(b, NR), med(bp, NR), med(as, NR), med(ad, NR), med(bs, NR), med(bd, NR), med(t, NR) }' "$out"
}

# REPLICA=postgres://postgres@127.0.0.1:5434 (a streaming replica of the PostgreSQL server:
# deploy/local-cluster.sh replica-up): what one request costs, in CPU-µs of this server, of the
# primary and of the replica, for q1-q3 served by the server without replicas and then by a
# second one with --read-replica-url, and for a write (a head read and a revision, by
# write_load.py, for DURATION). The capacity table in RESULTS is derived from these.
# PGBOUNCER=postgres://postgres@127.0.0.1:6432 (PgBouncer in transaction mode before it:
# deploy/local-cluster.sh pgbouncer-up): the same, the second server reaching PostgreSQL through
# PgBouncer (--transaction-pooler), the third column PgBouncer's own CPU.
# STATEMENTS=1 adds, per query and mode, where the database's time went by statement (from
# pg_stat_statements on the primary and the replica, of the last run): calls per request and
# execution µs per request. PostgreSQL must load it: ALTER SYSTEM SET shared_preload_libraries
# = 'pg_stat_statements', restart, and make the replica afresh (replica-down, replica-up: it
# copies the setting). Loaded, it costs PostgreSQL a little on every statement: compare cost
# figures within one run.
if [ -n "${REPLICA:-}${PGBOUNCER:-}" ]; then
  if [ -n "${STATEMENTS:-}" ]; then
    statement_dbs=("$(database_url postgres)")
    [ -z "${REPLICA:-}" ] || statement_dbs+=("${REPLICA%/}/$pg_database")
    for db in "${statement_dbs[@]}"; do
      psql -X -qAt "$db" -c "SHOW shared_preload_libraries" | grep -q pg_stat_statements || {
        echo "STATEMENTS=1: $db does not load pg_stat_statements (see above)" >&2; exit 2; }
    done
    psql -X -q "$(database_url postgres)" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
    statements_reset() { local db; for db in "${statement_dbs[@]}"; do psql -X -qAt "$db" -c "SELECT pg_stat_statements_reset()" >/dev/null; done; }
    # statements_report REQUESTS: each database's five costliest statements of the run.
    statements_report() {
      local db
      for db in "${statement_dbs[@]}"; do
        echo "   ${db##*@}:"
        psql -X -qAt -F ' | ' "$db" -c "SELECT round(calls::numeric / $1, 2) || ' calls', round((total_exec_time * 1000 / $1)::numeric, 1) || ' us', left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 5" | sed 's/^/     /'
      done
    }
    STATEMENTS_RESET=statements_reset STATEMENTS_REPORT=statements_report
  fi
  primary_pm=$(head -n1 "$(psql -X -At "$pg_url" -c 'SHOW data_directory')/postmaster.pid")
  DB_TICKS="cluster_ticks $primary_pm"
  eval "p=\$port_postgres plain_pid=\$pid_postgres"
  if [ -n "${REPLICA:-}" ]; then
    replica_pm=$(head -n1 "$(psql -X -At "${REPLICA%/}/postgres" -c 'SHOW data_directory')/postmaster.pid")
    REPLICA_TICKS="cluster_ticks $replica_pm" third=replica second=replicated
    SERVER_FLAGS="${SERVER_FLAGS:-} --read-replica-url ${REPLICA%/}/$pg_database" start postgres $((p + 60))
    for _ in $(seq 1 100); do
      curl -s "http://127.0.0.1:$((p + 60))/readyz" | grep -q '"inRotation":true' && break; sleep 0.1
    done
  else
    REPLICA_TICKS="ticks $(pgrep -x pgbouncer | tr '\n' ' ')" third=PgBouncer second=pooled
    SERVER_FLAGS="${SERVER_FLAGS:-} --transaction-pooler --session-database-url $(database_url postgres)" \
      start postgres $((p + 60)) "${PGBOUNCER%/}/$pg_database"
  fi
  second_pid=$server
  echo "## CPU-us per request: server + primary + $third (median of $RUNS x $DURATION); serve flags: ${SERVER_FLAGS:-none}"
  for q in q1_document_latest q2_history20 q3_page50; do
    picks=$work/postgres/ids.txt; [ "$q" = q3_page50 ] && picks=$work/postgres/cursors.txt
    for mode in plain $second; do
      port_now=$p; pid_now=$plain_pid
      [ $mode = plain ] || { port_now=$((p + 60)); pid_now=$second_pid; }
      read -r rps _ p99 bad cs cd cr <<<"$(COST_PID=$pid_now measure "$q-cost-$mode" "http://127.0.0.1:$port_now/graphql" "$here/palimpsest/$q.json" "$picks")"
      echo "$q $mode: $rps req/s (p99 $p99 ms, $bad errors); CPU-us/request: server $cs + primary $cd + $third $cr"
      [ -z "${STATEMENTS:-}" ] || { echo "  per request, by statement (execution time, last run):"; cat "$work/results/$q-cost-$mode.txt.statements"; }
    done
  done
  for mode in plain $second; do
    port_now=$p; pid_now=$plain_pid
    [ $mode = plain ] || { port_now=$((p + 60)); pid_now=$second_pid; }
    token=$(DATABASE_URL=$(database_url postgres) "$bin" token create --agent "Cost writer $mode $$" --role editor 2>/dev/null)
    $STATEMENTS_RESET
    s0=$(ticks "$pid_now"); d0=$($DB_TICKS); r0=$($REPLICA_TICKS)
    out=$(python3 $here/write_load.py "http://127.0.0.1:$port_now" "$token" "$work/postgres/ids.txt" "${DURATION%s}")
    s1=$(ticks "$pid_now"); d1=$($DB_TICKS); r1=$($REPLICA_TICKS)
    n=$(echo "$out" | awk '{print $2}')
    echo "write $mode: $out; CPU-us/write (with its head read): server $(( (s1 - s0) * 1000000 / hz / n )) + primary $(( (d1 - d0) * 1000000 / hz / n )) + $third $(( (r1 - r0) * 1000000 / hz / n ))"
    [ -z "${STATEMENTS:-}" ] || { echo "  per write, by statement (execution time):"; $STATEMENTS_REPORT "$n"; }
  done
  if [ -n "${REPLICA:-}" ]; then
    token=$(DATABASE_URL=$(database_url postgres) "$bin" token create --agent "Reader of own writes $$" --role editor 2>/dev/null)
    python3 $here/ryw.py "http://127.0.0.1:$((p + 60))" "$token" "$work/postgres/ids.txt" 500
  fi
  exit 0
fi

if [ -n "${BASELINE_BIN:-}" ]; then
  echo "## this build against $BASELINE_BIN, $RUNS rounds turn about; serve flags: ${SERVER_FLAGS:-none}"
  for q in q1_document_latest q2_history20 q3_page50; do
    for db in $DATABASES; do
      picks=$work/$db/ids.txt; [ "$q" = q3_page50 ] && picks=$work/$db/cursors.txt
      eval "p=\$port_$db bp=\$base_port_$db tp=\$pid_$db bpid=\$base_pid_$db"
      # shellcheck disable=SC2154
      echo "$q $db: $(ab "$q-$db" "http://127.0.0.1:$p/graphql" "$tp" "http://127.0.0.1:$bp/graphql" "$bpid" "$here/palimpsest/$q.json" "$picks")"
    done
  done
  exit 0
fi

for q in q1_document_latest q2_history20 q3_page50; do
  if $peer; then
    picks=$work/peer-ids.txt; [ "$q" = q3_page50 ] && picks=$work/peer-offsets.txt
    result[$q,peer]=$(measure "$q-postgraphile" "$peer_url" "$here/postgraphile/$q.json" "$picks")
    echo "$q postgraphile: ${result[$q,peer]}"
  fi
  for db in $DATABASES; do
    picks=$work/$db/ids.txt; [ "$q" = q3_page50 ] && picks=$work/$db/cursors.txt
    eval "p=\$port_$db"
    # shellcheck disable=SC2154
    result[$q,$db]=$(measure "$q-$db" "http://127.0.0.1:$p/graphql" "$here/palimpsest/$q.json" "$picks")
    echo "$q $db: ${result[$q,$db]}"
  done
done

echo
echo "## $DOCS documents x $REVS revisions, wrk -t$THREADS -c$CONNS -d$DURATION, median of $RUNS; serve flags: ${SERVER_FLAGS:-none}"
header="| query |"; rule="|---|"
$peer && { header="$header PostGraphile req/s (p99 ms) |"; rule="$rule---|"; }
for db in $DATABASES; do header="$header Palimpsest $db req/s (p99 ms) |"; rule="$rule---|"; done
echo "$header"; echo "$rule"
for q in q1_document_latest q2_history20 q3_page50; do
  row="| $q |"
  if $peer; then read -r prps _ pp99 _ <<<"${result[$q,peer]}"; row="$row $prps ($pp99) |"; fi
  for db in $DATABASES; do
    read -r rps _ p99 bad <<<"${result[$q,$db]}"
    ratio=""; $peer && ratio=$(awk -v a="$rps" -v b="$prps" 'BEGIN{printf " %.2fx", a/b}')
    errors=""; [ "$bad" != 0 ] && errors=" $bad errors"
    row="$row $rps$ratio ($p99)$errors |"
  done
  echo "$row"
done
for db in $DATABASES; do eval "pid=\$pid_$db"; echo "peak RSS of the $db server: $(rss "$pid")"; done
