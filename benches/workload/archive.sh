#!/usr/bin/env bash
# Bulk import, export and database size on the reference workload corpus.
#
#   bash benches/workload/archive.sh
#
# Generates the corpus (gen_corpus.py: DOCS x REVS, SEED; 1000 x 20, seed 1 by default, as
# the read workload), turns it into an archive (to_archive.py), then for each database in
# DATABASES imports it into an empty store RUNS times (the median and the best are printed),
# exports it back, checks the exported revisions against the archive's line for line, and prints the
# database's size on disk. git fast-import of the same history runs first, as the peer.
#
# Env: DOCS (1000) REVS (20) SEED (1) RUNS (3) DATABASES ("sqlite postgres")
#      PALIMPSEST_BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/postgres)
#      WORKLOAD_DIR (target/workload)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/workload
DOCS=${DOCS:-1000} REVS=${REVS:-20} SEED=${SEED:-1} RUNS=${RUNS:-3}
DATABASES=${DATABASES:-"sqlite postgres"}
pg_url=${PALIMPSEST_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/palimpsest
work=$(mkdir -p "${WORKLOAD_DIR:-$target/workload}" && cd "${WORKLOAD_DIR:-$target/workload}" && pwd)/d$DOCS-r$REVS-s$SEED
mkdir -p "$work/archive"
cargo build --release --quiet --bin palimpsest

corpus=$work/corpus.jsonl
if [ ! -s "$corpus" ]; then
  python3 $here/gen_corpus.py --docs "$DOCS" --revs "$REVS" --seed "$SEED" --out "$corpus.tmp"
  mv "$corpus.tmp" "$corpus"
fi
archive=$work/archive/archive.jsonl
if [ ! -s "$archive" ]; then
  python3 $here/to_archive.py "$corpus" "$archive.tmp"
  mv "$archive.tmp" "$archive"
fi
revisions=$(grep -c '"type":"revision"' "$archive")
echo "## $revisions revisions of $DOCS documents, $(du -m "$archive" | cut -f1) MB of archive"

# The peer, in the same run: git fast-import of the same history into an empty repository,
# and the size of the pack it leaves (then repacked as `git gc --aggressive` would).
if command -v git >/dev/null; then
  stream=$work/corpus.fi
  [ -s "$stream" ] || python3 $here/to_fast_import.py "$corpus" > "$stream"
  repo=$work/git-peer
  rm -rf "$repo" && git init -q --bare "$repo"
  start=$(date +%s.%N)
  git -C "$repo" fast-import --quiet < "$stream"
  took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  git -C "$repo" repack -adq --window=250 --depth=50
  echo "git fast-import: $(awk -v n="$revisions" -v t="$took" 'BEGIN { printf "%.0f", n / t }') revisions/s ($took s); pack $(( $(du -cb "$repo"/objects/pack/* | tail -n1 | cut -f1) / 1000000 )) MB"
fi

pg_database=palimpsest_archive_bench
database_url() {
  case $1 in
    sqlite) echo "sqlite://$work/archive/palimpsest.db" ;;
    postgres) echo "${pg_url%/*}/$pg_database" ;;
  esac
}
reset() {
  rm -f "$work/archive/palimpsest.db"*
  if [ "$1" = postgres ]; then
    psql -X -q "$pg_url" -c "DROP DATABASE IF EXISTS $pg_database WITH (FORCE)" -c "CREATE DATABASE $pg_database"
  fi
  DATABASE_URL=$(database_url "$1") "$bin" migrate 2>/dev/null
}

for db in $DATABASES; do
  rates=()
  for _ in $(seq 1 "$RUNS"); do
    reset "$db"
    line=$(DATABASE_URL=$(database_url "$db") "$bin" import "$archive" 2>&1 | tail -n1)
    rates+=("$(sed -E 's/.* ([0-9]+) revisions\/s.*/\1/' <<<"$line")")
  done
  sorted=$(printf '%s\n' "${rates[@]}" | sort -n)
  median=$(sed -n "$(( (RUNS + 1) / 2 ))p" <<<"$sorted"); best=$(tail -n1 <<<"$sorted")
  start=$(date +%s.%N)
  DATABASE_URL=$(database_url "$db") "$bin" export -o "$work/archive/export-$db.jsonl" 2>/dev/null
  exported=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  # The export lists every agent and source first; its revisions are the archive's, line for line.
  if cmp -s <(grep '"type":"revision"' "$archive") <(grep '"type":"revision"' "$work/archive/export-$db.jsonl"); then
    same="its revisions identical to the archive's"
  else
    same="its revisions DIFFER from the archive's"
  fi
  case $db in
    sqlite)
      # Fold the write-ahead log into the file first: its size is the database's.
      python3 -c "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')" "$work/archive/palimpsest.db"
      size=$(du -cb "$work/archive/palimpsest.db"* | tail -n1 | cut -f1) ;;
    postgres)
      size=$(psql -X -qtA "$pg_url" -c "SELECT pg_database_size('$pg_database')") ;;
  esac
  echo "$db: import ${median} revisions/s (median of $RUNS; best ${best}); export ${exported} s, $same; database $((size / 1000000)) MB"
done
