#!/bin/bash
# Start Zotero translation-server on loopback, with the translators of the lab ($ZOTERO_LAB, README.md).
# Usage: ./start-server.sh [port]   (logs -> server.log, pid -> server.pid)
LAB=${ZOTERO_LAB:?set ZOTERO_LAB to the lab SETUP.md assembles}
PORT=${1:-1969}
cd "$LAB/translation-server"
export NODE_CONFIG="{\"host\":\"127.0.0.1\",\"port\":$PORT,\"translatorsDirectory\":\"$LAB/translators\"}"
export DEBUG_LEVEL=${DEBUG_LEVEL:-1}
# keep outbound traffic off any proxy for loopback URLs
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
nohup node src/server.js > "$LAB/server.log" 2>&1 &
echo $! > "$LAB/server.pid"
# wait until it listens
for i in $(seq 1 120); do
  if grep -q "Listening on" "$LAB/server.log"; then echo "up after ~$((i/4))s (pid $(cat $LAB/server.pid))"; exit 0; fi
  if ! kill -0 $(cat "$LAB/server.pid") 2>/dev/null; then echo "server died"; tail -30 "$LAB/server.log"; exit 1; fi
  sleep 0.25
done
echo "timeout"; exit 1
