#!/usr/bin/env bash
# Reference workload: load the 20,000-revision benchmark corpus through the API, then measure
# q1/q2/q3 (../shared/bench/README.md) with wrk. Needs a release build, python3 and wrk.
#
#   bash benches/http/run.sh [DATABASE_URL]      # default: a fresh SQLite file
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CARGO_TARGET_DIR:-target}/release/palimpsest"
work=$(mktemp -d)
db="${1:-sqlite://$work/bench.db}"
port=18181
url="http://127.0.0.1:$port"

python3 ../shared/bench/gen_corpus.py --docs 1000 --revs 20 --seed 1 --out "$work/corpus.jsonl"
token=$(DATABASE_URL="$db" "$bin" token create --agent "Benchmark loader" --role editor 2>/dev/null)
# Rate limits off: one client sending tens of thousands of requests a second is the point here.
DATABASE_URL="$db" RUST_LOG=warn "$bin" serve --no-seed --bind "127.0.0.1:$port" \
  --rate-limit-anonymous 0 --rate-limit-token 0 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.2; done

(cd "$work" && python3 "$OLDPWD/benches/http/load_corpus.py" corpus.jsonl "$url" "$token")

id=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(list(d.values())[500]["id"])' "$work/bench-ids.json")
printf '%s' "{\"query\":\"query(\$id: ID!) { document(id: \$id) { title head { hash content } } }\",\"variables\":{\"id\":\"$id\"}}" > "$work/q1.json"
printf '%s' "{\"query\":\"query(\$id: ID!) { document(id: \$id) { revisions(first: 20) { nodes { hash author { name } message createdAt } } } }\",\"variables\":{\"id\":\"$id\"}}" > "$work/q2.json"
printf '%s' '{"query":"{ documents(first: 50) { nodes { title head { source { title url publisher } } } } }"}' > "$work/q3.json"
for q in q1 q2 q3; do
  QUERY_BODY="$work/$q.json" wrk -t2 -c32 -d10s -s benches/http/graphql.lua "$url/graphql" >/dev/null 2>&1 # warm-up
  printf '%s: ' "$q"
  QUERY_BODY="$work/$q.json" wrk -t2 -c32 -d15s -s benches/http/graphql.lua "$url/graphql" | grep -E 'Requests/sec'
done
