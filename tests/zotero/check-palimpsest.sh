#!/bin/bash
# What Zotero makes of a Palimpsest server's pages and citation exports.
#
# Usage: ./check-palimpsest.sh BASE_URL OUTDIR
#   e.g. ./check-palimpsest.sh http://127.0.0.1:8111 /tmp/zotero-after
#
# For every document (found through BASE_URL/graphql), at its head and at the head's parent
# revision (all older revisions with ALL_REVISIONS=1):
#   web       POST the page URL (BASE/documents/SLUG, or .../revisions/HASH) to translation-server /web
#   ris|bibtex|csl-json
#             GET BASE/documents/SLUG/cite?format=F[&revision=HASH], POST it to /import
# then every item goes through /export?format=csljson and citeproc-js (APA, Chicago author-date).
# Writes OUTDIR/calls/*.json (one per call; volatile fields stripped, base URL and hashes replaced
# by placeholders so two runs diff cleanly), OUTDIR/raw/* (unmodified responses and export bodies),
# OUTDIR/run.json and OUTDIR/summary.md (table + flags).
# Compare two runs:  diff -r OLD/calls NEW/calls;  diff OLD/summary.md NEW/summary.md
#
# translation-server: TS (default http://127.0.0.1:1969). If nothing answers there, the script
# starts one from $ZOTERO_LAB/translation-server (log: OUTDIR/translation-server.log) and stops
# it at the end. If one is already running, its debug log (TS_LOG; default: the lab's server.log
# when start-server.sh's pid is alive) tells which translator handled /web; without a log the
# translator is inferred from the item's shape.
# Other env: SLUGS="slug ..." (only these documents), ALL_REVISIONS=1, RAW_HASHES=1.
set -euo pipefail
# The assembled lab (translation-server, translators, csl/, render/node_modules): SETUP.md.
LAB=${ZOTERO_LAB:?set ZOTERO_LAB to the lab SETUP.md assembles}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -ne 2 ]; then sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
BASE=${1%/}
OUTDIR=$2
TS=${TS:-http://127.0.0.1:1969}; TS=${TS%/}
mkdir -p "$OUTDIR"; OUTDIR=$(cd "$OUTDIR" && pwd)

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/graphql" -H 'Content-Type: application/json' \
        -d '{"query":"{ __typename }"}' || true)
if [ "$code" != 200 ]; then echo "Palimpsest at $BASE does not answer GraphQL (HTTP $code)" >&2; exit 1; fi

STARTED_PID=
stop_ts() {
  if [ -n "$STARTED_PID" ] && kill -0 "$STARTED_PID" 2>/dev/null; then
    kill "$STARTED_PID"; wait "$STARTED_PID" 2>/dev/null || true
    echo "stopped translation-server (pid $STARTED_PID)" >&2
  fi
}
trap stop_ts EXIT

ts_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$TS/" || true)" != 000 ]; }
if ts_up; then
  echo "translation-server already running at $TS" >&2
  if [ -z "${TS_LOG:-}" ] && [ -f "$LAB/server.pid" ] && kill -0 "$(cat "$LAB/server.pid")" 2>/dev/null; then
    TS_LOG=$LAB/server.log
  fi
else
  hostport=${TS#*://}; host=${hostport%%:*}; port=${hostport##*:}
  case "$host" in 127.0.0.1|localhost) ;; *) echo "translation-server at $TS is down and not local" >&2; exit 1;; esac
  [ "$port" = "$hostport" ] && port=1969
  TS_LOG=$OUTDIR/translation-server.log
  (
    cd "$LAB/translation-server"
    export NODE_CONFIG="{\"host\":\"127.0.0.1\",\"port\":$port,\"translatorsDirectory\":\"$LAB/translators\"}"
    export DEBUG_LEVEL=3 NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
    exec node src/server.js
  ) > "$TS_LOG" 2>&1 &
  STARTED_PID=$!
  for i in $(seq 1 120); do
    grep -q "Listening on" "$TS_LOG" 2>/dev/null && break
    kill -0 "$STARTED_PID" 2>/dev/null || { echo "translation-server died:" >&2; tail -20 "$TS_LOG" >&2; exit 1; }
    sleep 0.25
  done
  ts_up || { echo "translation-server did not come up" >&2; exit 1; }
  echo "started translation-server at $TS (pid $STARTED_PID, log $TS_LOG)" >&2
fi

export TS TS_LOG=${TS_LOG:-} LAB
python3 "$HERE/lib/check_palimpsest.py" "$BASE" "$OUTDIR"
