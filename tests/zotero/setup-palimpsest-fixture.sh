#!/bin/bash
# Start a Palimpsest server on a fresh SQLite database and give it the fixture that
# check-palimpsest.sh was first run on: the built-in sample corpus (ARTICLE
# ex-security-chiefs-urge-trump-to-end-gaza-war, OTHER reading-note-security-chiefs-appeal), the
# article revised once by an editor token ("Ada Editor"), and one LETTER, REPORT and STATEMENT.
#
# Usage: ./setup-palimpsest-fixture.sh BIN PORT [DIR]
#   BIN   the palimpsest binary (copy it first if it is about to be rebuilt)
#   PORT  e.g. 8111; the server binds 127.0.0.1:PORT
#   DIR   working dir for palimpsest.db, the log key, serve.log, serve.pid (default: a new mktemp dir)
# Prints DIR; stop the server with: kill "$(cat DIR/serve.pid)"
set -euo pipefail
BIN=$(readlink -f "$1"); PORT=$2; DIR=${3:-$(mktemp -d /tmp/palimpsest-fixture.XXXX)}
mkdir -p "$DIR"; cd "$DIR"
[ -e palimpsest.db ] && { echo "$DIR already has a palimpsest.db; use a fresh DIR" >&2; exit 1; }
"$BIN" serve --bind 127.0.0.1:$PORT --workers 2 > serve.log 2>&1 &
echo $! > serve.pid
for i in $(seq 1 60); do
  curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"query":"{ __typename }"}' http://127.0.0.1:$PORT/graphql && break
  kill -0 "$(cat serve.pid)" 2>/dev/null || { echo "palimpsest died:" >&2; tail -20 serve.log >&2; exit 1; }
  sleep 0.25
done
"$BIN" token create --agent "Ada Editor" --role editor > token 2>> serve.log
PORT=$PORT python3 - <<'EOF'
import json, os, urllib.request
B = 'http://127.0.0.1:%s/graphql' % os.environ['PORT']
tok = open('token').read().strip()
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def gql(q, v):
    r = urllib.request.Request(B, data=json.dumps({'query': q, 'variables': v}).encode(),
                               headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + tok})
    d = json.load(op.open(r))
    if d.get('errors'):
        raise SystemExit('GraphQL error: %s' % d['errors'])
    return d['data']
d = gql('query($s: String!) { document(slug: $s) { id head { hash content } } }',
        {'s': 'ex-security-chiefs-urge-trump-to-end-gaza-war'})['document']
old = d['head']['content']
new = old.replace('Every former Mossad and Shin Bet chief still alive have begged',
                  'Every living former Mossad and Shin Bet chief has begged', 1)
if new == old:
    new = old + '\n'
r = gql('mutation($i: ReviseDocumentInput!) { reviseDocument(input: $i) { revision { number hash } } }',
        {'i': {'documentId': d['id'], 'expectedHead': d['head']['hash'], 'content': new,
               'message': 'Copy-edit the standfirst (subject-verb agreement)'}})
print('revised the article:', r['reviseDocument']['revision'])
docs = [('letter-to-the-editor-on-gaza-appeal', "Letter to the editor: on the security chiefs' appeal", 'LETTER',
         "To the editor,\n\nYour report on the appeal by former security chiefs omits the humanitarian context.\n\nYours faithfully,\nA. Reader\n"),
        ('report-humanitarian-situation-gaza', 'Report: the humanitarian situation in Gaza', 'REPORT',
         'Summary\n\nThis report collects figures on food, water and medical supply in Gaza.\n\n1. Food\n2. Water\n3. Medicine\n'),
        ('statement-commanders-for-israels-security', "Statement by Commanders for Israel's Security", 'STATEMENT',
         'We, former commanders of the security services, call for an end to the war and the return of the hostages.\n')]
for slug, title, kind, content in docs:
    r = gql('mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { slug kind } } }',
            {'i': {'slug': slug, 'title': title, 'kind': kind, 'content': content, 'message': 'Added for the Zotero check'}})
    print('created', r['createDocument']['document'])
EOF
echo "$DIR"
