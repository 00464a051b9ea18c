#!/usr/bin/env python3
"""What Zotero makes of a Palimpsest server's pages and citation exports.

Called by ../check-palimpsest.sh (which makes sure translation-server is running).
Usage: check_palimpsest.py BASE OUTDIR
Environment: TS (translation-server URL), TS_LOG (its debug log, to tell which translator
ran for /web), LAB, ALL_REVISIONS=1 (check every older revision, not only the head's
parent), SLUGS="a b" (only these documents), RAW_HASHES=1 (do not replace hashes with
placeholders in calls/*.json and summary.md).
"""
import datetime
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip('/')
OUT = sys.argv[2]
TS = os.environ.get('TS', 'http://127.0.0.1:1969').rstrip('/')
TS_LOG = os.environ.get('TS_LOG') or None
LAB = os.environ.get('LAB', os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALL_REVISIONS = os.environ.get('ALL_REVISIONS') == '1'
SLUGS = set(os.environ.get('SLUGS', '').split())
RAW_HASHES = os.environ.get('RAW_HASHES') == '1'
STYLES = ['apa', 'chicago-author-date']
ROUTES = ['web', 'ris', 'bibtex', 'csl-json']
VOLATILE = ('key', 'accessDate', 'dateAdded', 'dateModified', 'version')
KIND_ORDER = ['ARTICLE', 'LETTER', 'OTHER', 'REPORT', 'STATEMENT']
HEX64 = re.compile(r'(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])')
# a full hash in rendered text, after normalising: a placeholder (not the 12-digit one) or raw 64-hex
HASH_IN_TEXT = re.compile(r'\{(?:[a-z0-9-]+@)?rev\d+(?:\.content)?\}|\{hex64\}|(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])')

# Zotero fields that hold an edition / number / version-like value (any item type)
NUMBERISH = ('edition', 'number', 'versionNumber', 'reportNumber', 'billNumber', 'docketNumber',
             'episodeNumber', 'seriesNumber', 'issue', 'volume', 'numberOfVolumes', 'publicLawNumber',
             'codeNumber', 'patentNumber', 'applicationNumber', 'documentNumber', 'session', 'section')
# CSL variables of the same sort (from /export?format=csljson)
CSL_NUMBERISH = ('version', 'edition', 'number', 'issue', 'volume', 'collection-number',
                 'chapter-number', 'number-of-volumes')
# container / publisher-like Zotero fields
CONTAINER = ('publicationTitle', 'websiteTitle', 'blogTitle', 'forumTitle', 'bookTitle',
             'proceedingsTitle', 'programTitle', 'encyclopediaTitle', 'dictionaryTitle', 'seriesTitle',
             'publisher', 'institution', 'university', 'company', 'label', 'network', 'distributor',
             'studio', 'libraryCatalog', 'websiteType', 'reportType', 'letterType', 'genre',
             'manuscriptType', 'postType', 'medium', 'place', 'archive', 'archiveLocation')

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method, url, data=None, ctype=None, timeout=60):
    headers = {'Content-Type': ctype} if ctype else {}
    if isinstance(data, str):
        data = data.encode('utf-8')
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    t0 = time.time()
    try:
        with opener.open(req, timeout=timeout) as r:
            body, status, hdrs = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        body, status, hdrs = e.read(), e.code, dict(e.headers)
    except Exception as e:  # connection refused, timeout
        return {'status': 0, 'error': repr(e), 'headers': {}, 'body': '', 'seconds': round(time.time() - t0, 3)}
    return {'status': status, 'headers': {k.lower(): v for k, v in hdrs.items()},
            'body': body.decode('utf-8', 'replace'), 'seconds': round(time.time() - t0, 3)}


def jloads(s):
    try:
        return json.loads(s)
    except Exception:
        return None


# ---------------------------------------------------------------- translators: id <-> label
def load_translators():
    d = os.path.join(LAB, 'translators')
    by_id, by_label = {}, {}
    if not os.path.isdir(d):
        return by_id, by_label
    for f in os.listdir(d):
        if not f.endswith('.js'):
            continue
        try:
            with open(os.path.join(d, f), encoding='utf-8') as fh:
                head = fh.read(4000)
            m = re.match(r'\s*(\{.*?\n\})', head, re.S)
            meta = json.loads(m.group(1))
            by_id[meta['translatorID']] = meta['label']
            by_label[meta['label']] = meta['translatorID']
        except Exception:
            pass
    return by_id, by_label


TR_BY_ID, TR_BY_LABEL = load_translators()


def log_size():
    try:
        return os.path.getsize(TS_LOG) if TS_LOG else None
    except OSError:
        return None


def log_since(offset):
    if offset is None:
        return ''
    time.sleep(0.1)
    with open(TS_LOG, encoding='utf-8', errors='replace') as fh:
        fh.seek(offset)
        return fh.read()


def translators_from_log(text):
    """'Beginning translation with X' lines (in order) and the detect list with priorities."""
    began = re.findall(r'Beginning translation with (.+)', text)
    cands = []
    # each detect result is its own debug line: "(3)(+0000000): \tCOinS: 310"
    m = re.search(r'All translator detect calls and RPC calls complete:(.*?)(?:Running handler|Beginning translation|\Z)',
                  text, re.S)
    if m:
        for mm in re.finditer(r'^\(\d\)\(\+\d+\): \t(.+): (-?\d+)\s*$', m.group(1), re.M):
            cands.append({'label': mm.group(1), 'priority': int(mm.group(2))})
    return [b.strip() for b in began], cands


def infer_web_translator(items):
    top = [i for i in items if i.get('itemType') not in ('note', 'attachment')]
    if not top:
        return None
    it = top[0]
    # Embedded Metadata (and its generic fallback) always sets accessDate; COinS never does
    return 'Embedded Metadata (inferred)' if 'accessDate' in it else 'COinS (inferred)'



# ---------------------------------------------------------------- Palimpsest discovery
DOC_FIELDS = ('slug kind title createdAt head { number hash createdAt } '
              'revisions(first: 20) { totalCount nodes { number hash createdAt contentHash } }')


def graphql(query, variables=None):
    r = http('POST', BASE + '/graphql', json.dumps({'query': query, 'variables': variables or {}}),
             'application/json')
    d = jloads(r['body']) or {}
    if r['status'] != 200 or d.get('errors'):
        raise RuntimeError('GraphQL %s: %s' % (r['status'], (d.get('errors') or r['body'])[:3]))
    return d['data']


def discover():
    docs, after = [], None
    while True:
        data = graphql('query($after: String) { documents(first: 10, after: $after) { '
                       'pageInfo { hasNextPage endCursor } nodes { %s } } }' % DOC_FIELDS, {'after': after})
        conn = data['documents']
        docs += conn['nodes']
        if not conn['pageInfo']['hasNextPage']:
            break
        after = conn['pageInfo']['endCursor']
    if SLUGS:
        docs = [d for d in docs if d['slug'] in SLUGS]
    for d in docs:
        revs = d['revisions']['nodes']
        if d['revisions'].get('totalCount', len(revs)) > len(revs):  # long history: fetch the head's parent
            data = graphql('query($s: String!) { document(slug: $s) { head { parent { number hash createdAt contentHash } } } }',
                           {'s': d['slug']})
            p = data['document']['head']['parent']
            if p and all(r['hash'] != p['hash'] for r in revs):
                revs.append(p)
        d['revisions'] = sorted(revs, key=lambda r: -r['number'])
    docs.sort(key=lambda d: (KIND_ORDER.index(d['kind']) if d['kind'] in KIND_ORDER else 99, d['slug']))
    return docs


def targets_of(doc):
    head = doc['head']
    revs = {r['number']: r for r in doc['revisions']}
    head_full = revs.get(head['number'], head)
    out = [{'name': 'head', 'rev': head_full, 'is_head': True,
            'page': '%s/documents/%s' % (BASE, doc['slug']), 'cite_extra': ''}]
    older = [r for r in doc['revisions'] if r['number'] < head['number']]
    if not ALL_REVISIONS:
        older = [r for r in older if r['number'] == head['number'] - 1]
    for r in older:
        out.append({'name': 'rev%d' % r['number'], 'rev': r, 'is_head': False,
                    'page': '%s/documents/%s/revisions/%s' % (BASE, doc['slug'], r['hash']),
                    'cite_extra': '&revision=' + r['hash']})
    return out


# ---------------------------------------------------------------- normalising for diffs
def make_normaliser(docs, doc):
    pairs = []
    for d in docs:
        own = d['slug'] == doc['slug']
        for r in d['revisions']:
            tag = 'rev%d' % r['number'] if own else '%s@rev%d' % (d['slug'], r['number'])
            pairs.append((r['hash'], '{%s}' % tag))
            if r.get('contentHash'):
                pairs.append((r['contentHash'], '{%s.content}' % tag))
            pairs.append((r['createdAt'], '{%s.recorded}' % tag))
    short = []
    for h, tag in list(pairs):
        if HEX64.fullmatch(h) and not tag.endswith('.content}'):
            short.append((h[:12], tag[:-1] + ':12}'))
    pairs += short
    pairs.sort(key=lambda p: -len(p[0]))
    base_variants = [BASE, urllib.parse.quote(BASE, safe=''), BASE.replace('/', '\\/')]

    def norm_str(s):
        if RAW_HASHES:
            return s
        for b in base_variants:
            s = s.replace(b, '{BASE}')
        for h, tag in pairs:  # citeproc may capitalise a hash ("Dfeabd…"): match any case
            s = re.sub(re.escape(h), lambda _m, t=tag: t, s, flags=re.I) if h.lower() in s.lower() else s
        return HEX64.sub('{hex64}', s)

    def norm(o):
        if isinstance(o, str):
            return norm_str(o)
        if isinstance(o, list):
            return [norm(x) for x in o]
        if isinstance(o, dict):
            return {k: norm(v) for k, v in o.items()}
        return o
    return norm


def strip(items):
    out, removed = [], set()
    for it in items or []:
        if isinstance(it, dict):
            removed |= {k for k in VOLATILE if k in it}
            it = {k: v for k, v in it.items() if k not in VOLATILE}
            if 'parentItem' in it:
                it['parentItem'] = '(parent)'
        out.append(it)
    return out, sorted(removed)


# ---------------------------------------------------------------- dates
MONTHS = {m: i + 1 for i, m in enumerate(['january', 'february', 'march', 'april', 'may', 'june', 'july',
                                          'august', 'september', 'october', 'november', 'december'])}


def parse_date(s):
    """-> (year, month|None, day|None) from the date strings Zotero and CSL produce."""
    if not s:
        return None
    if isinstance(s, dict):  # CSL date
        dp = (s.get('date-parts') or [[None]])[0]
        if s.get('raw') and not dp[0]:
            return parse_date(s['raw'])
        dp = [int(x) for x in dp if x not in (None, '')]
        return tuple(dp + [None] * (3 - len(dp)))[:3] if dp else None
    s = str(s).strip()
    m = re.match(r'^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?', s)
    if m:
        return tuple(int(x) if x else None for x in m.groups())
    m = re.match(r'^(\d{1,2})/(\d{1,2})/(\d{4})', s)
    if m:
        return (int(m.group(3)), int(m.group(1)), int(m.group(2)))
    m = re.search(r'([A-Za-z]+)\.? (\d{1,2}),? (\d{4})', s)
    if m and m.group(1).lower()[:3] in [k[:3] for k in MONTHS]:
        mon = [v for k, v in MONTHS.items() if k[:3] == m.group(1).lower()[:3]][0]
        return (int(m.group(3)), mon, int(m.group(2)))
    m = re.search(r'(\d{1,2}) ([A-Za-z]+),? (\d{4})', s)
    if m and m.group(2).lower()[:3] in [k[:3] for k in MONTHS]:
        mon = [v for k, v in MONTHS.items() if k[:3] == m.group(2).lower()[:3]][0]
        return (int(m.group(3)), mon, int(m.group(1)))
    m = re.search(r'\b(\d{4})\b', s)
    return (int(m.group(1)), None, None) if m else None


def ymd(iso):
    t = datetime.datetime.fromisoformat(iso.replace('Z', '+00:00'))
    return (t.year, t.month, t.day)


def date_vs_recording(val, target, doc):
    """Which revision's recording day (UTC) a publication date matches, if any."""
    p = parse_date(val)
    if not p or not p[0]:
        return None
    hits = []
    for r in doc['revisions']:
        y, m, d = ymd(r['createdAt'])
        if p == (y, m, d):
            hits.append((r['number'], 'day'))
        elif p[1] is None and p[0] == y:
            hits.append((r['number'], 'year only'))
        elif p[2] is None and p[1] == m and p[0] == y:
            hits.append((r['number'], 'month'))
    if not hits:
        return None
    this = [h for h in hits if h[0] == target['rev']['number']]
    h = this[0] if this else hits[0]
    who = 'this revision (rev%d)' % h[0] if this else 'rev%d' % h[0]
    return '%s matches the recording %s of %s%s' % (
        val if isinstance(val, str) else json.dumps(val), h[1], who,
        '' if len(hits) == 1 else ' (also %s)' % ', '.join('rev%d' % x[0] for x in hits if x != h))


# ---------------------------------------------------------------- the calls
def top_items(items):
    return [i for i in (items or []) if isinstance(i, dict) and i.get('itemType') not in ('note', 'attachment')]


def page_metadata(url):
    """The embedded metadata a translator can see on the page: <meta> tags, COinS, canonical link."""
    import html as htmlmod
    r = http('GET', url)
    if r['status'] != 200:
        return {'status': r['status']}
    h = r['body']
    metas = []
    for tag in re.findall(r'<meta\b[^>]*>', h, re.I):
        a = dict((k.lower(), htmlmod.unescape(v)) for k, v in re.findall(r'(\w[\w.:-]*)="([^"]*)"', tag))
        if 'name' in a or 'property' in a:
            metas.append([a.get('name') or a.get('property'), a.get('content', '')])
    coins = []
    for t in re.findall(r'<span[^>]*class="Z3988"[^>]*title="([^"]*)"', h, re.I):
        coins.append(urllib.parse.parse_qsl(htmlmod.unescape(t), keep_blank_values=True))
    canon = re.findall(r'<link[^>]*rel="canonical"[^>]*href="([^"]*)"', h, re.I)
    return {'status': 200, 'meta': [m for m in metas if m[0] not in ('viewport',)],
            'coins': [dict(c) for c in coins], 'canonical': [htmlmod.unescape(c) for c in canon]}


def source_type(route, call, export_body):
    """What the Palimpsest side said the type was: COinS format/genre and DC.type; RIS TY; BibTeX entry
    type (+ type / entrysubtype); CSL type."""
    try:
        if route == 'web':
            pm = call.get('page_metadata') or {}
            bits = []
            for c in pm.get('coins', []):
                bits.append('COinS %s%s' % (c.get('rft_val_fmt', '?').rsplit(':', 1)[-1],
                                            ''.join(' %s=%s' % (k[4:], c[k]) for k in ('rft.genre', 'rft.type') if k in c)))
            bits += ['%s=%s' % (n, v) for n, v in pm.get('meta', []) if n.lower() in ('dc.type', 'citation_journal_title', 'og:type')]
            bits.append('%d citation_* tags' % sum(1 for n, _ in pm.get('meta', []) if n.startswith('citation_')))
            return '; '.join(bits)
        if not export_body:
            return ''
        if route == 'ris':
            return ', '.join(re.findall(r'^TY  - (\S+)', export_body, re.M))
        if route == 'bibtex':
            out = []
            for m in re.finditer(r'@(\w+)\s*\{', export_body):
                out.append('@' + m.group(1))
            out += ['%s={%s}' % (k, v) for k, v in re.findall(r'^\s*(type|entrysubtype)\s*=\s*\{([^}]*)\}', export_body, re.M)]
            return ' '.join(out)
        if route == 'csl-json':
            d = json.loads(export_body)
            return ', '.join('type=%s' % x.get('type') for x in (d if isinstance(d, list) else [d]))
    except Exception as e:
        return 'unparsed (%s)' % e
    return ''


def do_web(target):
    off = log_size()
    r = http('POST', TS + '/web', target['page'], 'text/plain')
    call = {'route': 'web', 'request': {'POST': TS + '/web', 'body': target['page']},
            'status': r['status'], 'seconds': r['seconds']}
    call['page_metadata'] = page_metadata(target['page'])
    body = jloads(r['body'])
    if r['status'] == 300 and isinstance(body, dict):  # multiple choice: take all
        call['multiple_choice'] = body.get('items')
        r2 = http('POST', TS + '/web', json.dumps(body), 'application/json')
        call['status_after_choice'] = r2['status']
        body = jloads(r2['body'])
    items = body if isinstance(body, list) else None
    if items is None:
        call['error_body'] = r['body'][:2000]
    tid = r['headers'].get('zotero-translator-id')
    began, cands = translators_from_log(log_since(off))
    if tid:
        call['translator'] = {'id': tid, 'label': TR_BY_ID.get(tid), 'how': 'Zotero-Translator-ID header'}
    elif began:
        call['translator'] = {'id': TR_BY_LABEL.get(began[0]), 'label': began[0], 'how': 'translation-server log',
                              'ran': began}
    else:
        lab = infer_web_translator(items or [])
        call['translator'] = {'id': TR_BY_LABEL.get((lab or '').replace(' (inferred)', '')), 'label': lab,
                              'how': 'inferred from the item (no header, no log)'}
    if cands:
        call['translator']['detected'] = cands
    return call, items


def do_export(target, doc, fmt):
    url = '%s/documents/%s/cite?format=%s%s' % (BASE, doc['slug'], fmt, target['cite_extra'])
    e = http('GET', url)
    call = {'route': fmt, 'export': {'GET': url, 'status': e['status'],
                                     'content_type': e['headers'].get('content-type'),
                                     'content_disposition': e['headers'].get('content-disposition'),
                                     'seconds': e['seconds'], 'body': e['body']}}
    if e['status'] != 200 or not e['body'].strip():
        call['status'] = None
        call['error_body'] = 'export failed: HTTP %s %s' % (e['status'], e.get('error', ''))
        return call, None, e['body']
    r = http('POST', TS + '/import', e['body'], 'text/plain')
    call.update({'request': {'POST': TS + '/import', 'body': '(the export above)'},
                 'status': r['status'], 'seconds': r['seconds']})
    tid = r['headers'].get('zotero-translator-id')
    call['translator'] = {'id': tid, 'label': TR_BY_ID.get(tid), 'how': 'Zotero-Translator-ID header'} if tid \
        else {'id': None, 'label': None, 'how': 'no header (import failed?)'}
    items = jloads(r['body'])
    if not isinstance(items, list):
        call['error_body'] = r['body'][:2000]
        items = None
    return call, items, e['body']


def to_csljson(items):
    r = http('POST', TS + '/export?format=csljson', json.dumps(items), 'application/json')
    d = jloads(r['body'])
    return (d if isinstance(d, list) else None), r['status']


def field_summary(it, names):
    return '; '.join('%s=%s' % (k, it[k]) for k in names if it.get(k) not in (None, ''))


def main():
    os.makedirs(os.path.join(OUT, 'calls'), exist_ok=True)
    os.makedirs(os.path.join(OUT, 'raw'), exist_ok=True)
    for sub in ('calls', 'raw'):
        for f in os.listdir(os.path.join(OUT, sub)):
            os.remove(os.path.join(OUT, sub, f))

    docs = discover()
    run = {'base': BASE, 'translation_server': TS, 'translation_server_log': TS_LOG,
           'started': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
           'styles': STYLES, 'all_revisions': ALL_REVISIONS, 'documents': docs}
    records = []  # (doc, target, call, raw_items, export_body)
    for doc in docs:
        for t in targets_of(doc):
            for route in ROUTES:
                name = '%s__%s__%s' % (doc['slug'], t['name'], route)
                if route == 'web':
                    call, items = do_web(t)
                    exp = None
                else:
                    call, items, exp = do_export(t, doc, route)
                call['name'] = name
                print('  %-70s HTTP %s  %s  %d item(s)' % (name, call.get('status'),
                      (call.get('translator') or {}).get('label'), len(items or [])), file=sys.stderr)
                records.append({'doc': doc, 'target': t, 'call': call, 'items': items, 'export': exp})

    # CSL-JSON through Zotero's own exporter, then one render process for everything
    jobs = []
    for rec in records:
        if top_items(rec['items']):
            # child notes/attachments are not cited on their own in Zotero; translation-server would
            # export a child note as a separate CSL item, so leave them out
            csl, st = to_csljson(top_items(rec['items']))
            rec['csl'], rec['csl_status'] = csl, st
            if csl:
                jobs.append({'job': rec['call']['name'], 'items': csl})
        else:
            rec['csl'], rec['csl_status'] = None, None
    jobs_file = os.path.join(OUT, 'raw', '_render-jobs.json')
    out_file = os.path.join(OUT, 'raw', '_render-out.json')
    with open(jobs_file, 'w') as fh:
        json.dump(jobs, fh)
    t0 = time.time()
    subprocess.run(['node', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'render', 'render-batch.js'), jobs_file, out_file, 'text', 'en-US']
                   + STYLES, check=True)
    run['render_seconds'] = round(time.time() - t0, 2)
    rendered = json.load(open(out_file))

    # write per-call JSON (raw + stripped/normalised), gather rows and flags
    rows, flags = [], []
    by_target = {}
    for rec in records:
        doc, t, call = rec['doc'], rec['target'], rec['call']
        name = call['name']
        norm = make_normaliser(docs, doc)
        rend = rendered.get(name, {})
        raw = dict(call, items=rec['items'], csljson=rec['csl'], rendered=rend)
        with open(os.path.join(OUT, 'raw', name + '.json'), 'w') as fh:
            json.dump(raw, fh, indent=1, ensure_ascii=False)
        if rec['export'] is not None:
            ext = {'ris': 'ris', 'bibtex': 'bib', 'csl-json': 'csl.json'}[call['route']]
            with open(os.path.join(OUT, 'raw', name + '.' + ext), 'w') as fh:
                fh.write(rec['export'])
        items, removed = strip(rec['items'])
        csl = [{k: v for k, v in c.items() if k not in ('id', 'accessed')} for c in (rec['csl'] or [])]
        saved = {
            'document': {'slug': doc['slug'], 'kind': doc['kind']},
            'target': {'name': t['name'], 'revision_number': t['rev']['number'], 'is_head': t['is_head'],
                       'revision': t['rev']['hash'], 'recorded': t['rev']['createdAt']},
            'route': call['route'],
            'page' if call['route'] == 'web' else 'export': t['page'] if call['route'] == 'web' else {
                k: v for k, v in call['export'].items() if k != 'seconds'},
            'status': call.get('status'),
            'translator': call.get('translator'),
            'items': items,
            'stripped_fields': removed,
            'csljson_status': rec['csl_status'],
            'csljson': csl,
            'rendered': rend,
        }
        saved['source_type'] = source_type(call['route'], call, rec['export'])
        for k in ('page_metadata', 'multiple_choice', 'status_after_choice', 'error_body'):
            if k in call:
                saved[k] = call[k]
        saved = norm(saved)
        with open(os.path.join(OUT, 'calls', name + '.json'), 'w') as fh:
            json.dump(saved, fh, indent=1, ensure_ascii=False, sort_keys=False)
            fh.write('\n')

        # ---- flags (checked on the raw values; messages show the normalised ones)
        where = '%s `%s` [%s] %s' % (doc['kind'], doc['slug'], t['name'] + ('' if not t['is_head'] else ' = rev%d' % t['rev']['number']), call['route'])
        tops = top_items(rec['items'])
        notes = [i for i in (rec['items'] or []) if isinstance(i, dict) and i.get('itemType') == 'note']
        if not tops:
            flags.append(('error', where, 'no item (HTTP %s): %s' % (call.get('status'), (call.get('error_body') or '')[:200])))
        for it in tops:
            for k in NUMBERISH:
                if isinstance(it.get(k), str) and HEX64.search(it[k]):
                    flags.append(('hash-as-number', where, 'Zotero `%s` = %s' % (k, norm(it[k]))))
            pub = date_vs_recording(it.get('date'), t, doc)
            if pub:
                flags.append(('recording-date', where, 'Zotero `date` (publication date) %s' % norm(pub)))
            if call['route'] != 'web' and it.get('accessDate'):  # /web sets accessDate to "now" by design
                acc = date_vs_recording(it['accessDate'], t, doc)
                if acc:
                    today = datetime.datetime.now(datetime.timezone.utc).date()
                    same = parse_date(it['accessDate']) == (today.year, today.month, today.day)
                    flags.append(('recording-as-access', where, 'Zotero `accessDate` %s%s' % (
                        norm(acc), ' (today is the same day, so this run cannot tell them apart)' if same else '')))
            obs = []
            if not it.get('date'):
                obs.append('no date (n.d.)')
            if not it.get('creators'):
                obs.append('no creators (title takes the author slot)')
            if obs:
                flags.append(('note', where, ', '.join(obs)))
        for c in rec['csl'] or []:
            for k in CSL_NUMBERISH:
                if isinstance(c.get(k), str) and HEX64.search(c[k]):
                    flags.append(('hash-as-number', where, 'CSL `%s` = %s' % (k, norm(c[k]))))
            if c.get('issued'):
                pub = date_vs_recording(c['issued'], t, doc)
                if pub and not any(f[0] == 'recording-date' and f[1] == where for f in flags):
                    flags.append(('recording-date', where, 'CSL `issued` %s' % norm(pub)))
        for style in STYLES:
            rs = rend.get(style) or {}
            for part in ('bibliography', 'citations'):
                for txt in rs.get(part, []):
                    ns = re.sub(r'(?:\{BASE\}|https?://)\S*', '<URL>', norm(txt))
                    hits = list(HASH_IN_TEXT.finditer(ns))
                    if hits:
                        a, b = max(0, hits[0].start() - 30), min(len(ns), hits[-1].end() + 25)
                        flags.append(('hash-as-number', where, '%s %s prints %d hash(es) outside the URL: "…%s…"' % (
                            style, 'entry' if part == 'bibliography' else 'citation', len(hits), ns[a:b])))
            if rs.get('error'):
                flags.append(('error', where, '%s render error: %s' % (style, rs['error'][:200])))

        by_target.setdefault((doc['slug'], t['name']), {})[call['route']] = [i.get('itemType') for i in tops]

        it = tops[0] if tops else {}
        extra = []
        if it.get('extra'):
            extra.append('extra=' + it['extra'])
        extra += ['note=' + re.sub(r'<[^>]+>', '', n.get('note', '')) for n in notes]
        rend_txt = {}
        for style in STYLES:
            rs = rend.get(style) or {}
            rend_txt[style] = ' / '.join(rs.get('bibliography') or []) + (
                ('  ' + ' '.join(rs.get('citations') or [])) if rs.get('citations') else '')
        rows.append(norm({
            'kind': doc['kind'], 'slug': doc['slug'],
            'target': t['name'] + (' (rev%d)' % t['rev']['number'] if t['is_head'] else ''),
            'route': call['route'],
            'translator': (call.get('translator') or {}).get('label') or '?',
            'source': source_type(call['route'], call, rec['export']),
            'itemType': ', '.join(i.get('itemType', '?') for i in tops) or '—',
            'title': it.get('title', ''), 'date': it.get('date', ''), 'url': it.get('url', ''),
            'extra': ' · '.join(extra),
            'numbers': field_summary(it, NUMBERISH),
            'container': field_summary(it, CONTAINER),
            'creators': '; '.join(' '.join(x for x in (c.get('firstName'), c.get('lastName'), c.get('name')) if x)
                                  for c in it.get('creators', [])),
            'apa': rend_txt['apa'], 'chicago': rend_txt['chicago-author-date'],
        }))

    for (slug, tname), routes in by_target.items():
        types = {r: v for r, v in routes.items()}
        distinct = {tuple(v) for v in types.values() if v}
        if len(distinct) > 1:
            flags.append(('type-mismatch', '%s [%s]' % (slug, tname),
                          'item types differ between routes: ' + ', '.join('%s→%s' % (r, '/'.join(v) or '—') for r, v in types.items())))
    # the same route, head vs older revision
    for doc in docs:
        ts = [t['name'] for t in targets_of(doc)]
        for route in ROUTES:
            seen = {n: tuple(by_target.get((doc['slug'], n), {}).get(route) or ()) for n in ts}
            if len(set(seen.values())) > 1:
                flags.append(('type-mismatch', '%s %s' % (doc['slug'], route),
                              'item types differ between revisions: ' + ', '.join('%s→%s' % (n, '/'.join(v) or '—') for n, v in seen.items())))

    with open(os.path.join(OUT, 'run.json'), 'w') as fh:
        json.dump(run, fh, indent=1)
    write_summary(docs, rows, flags)
    print('wrote %s/summary.md, %d calls in %s/calls, %d flag(s)' % (OUT, len(rows), OUT, len(flags)), file=sys.stderr)


def md(s):
    return str(s).replace('|', '\\|').replace('\n', '<br>') if s else ''


def write_summary(docs, rows, flags):
    L = ['# What Zotero makes of Palimpsest (translation-server + citeproc-js)', '',
         'Base URL and hashes are replaced by placeholders so that runs against different servers diff cleanly: '
         '`{BASE}` = the Palimpsest base URL, `{revN}` = the 64-hex SHA-256 of revision N of the same document, '
         '`{revN:12}` its first 12 hex digits, `{revN.content}` its content SHA-256, `{revN.recorded}` its recording '
         'time (ISO 8601), `{hex64}` any other 64-hex string. Raw values: `raw/`, run details: `run.json`. '
         'Volatile fields (%s) are stripped from the items in `calls/`.' % ', '.join(VOLATILE), '',
         'Documents checked: ' + ', '.join('%s `%s` (%d revision%s)' % (d['kind'], d['slug'], len(d['revisions']),
                                                                         '' if len(d['revisions']) == 1 else 's') for d in docs), '',
         'Routes: **web** = POST of the page URL to /web (head page `{BASE}/documents/{slug}`, older revision '
         '`{BASE}/documents/{slug}/revisions/{hash}`); **ris / bibtex / csl-json** = '
         '`{BASE}/documents/{slug}/cite?format=…[&revision=…]` POSTed to /import. Rendering: Zotero /export?format=csljson '
         '→ citeproc-js (APA 7th, Chicago author-date 18th), text; bibliography entry then the in-text citation.', '',
         '## Flags', '']
    order = ['hash-as-number', 'recording-date', 'recording-as-access', 'type-mismatch', 'error', 'note']
    titles = {'hash-as-number': '64-hex hash printed as an edition / number / version (or anywhere outside the URL)',
              'recording-date': "the revision's recording time presented as the publication date",
              'recording-as-access': "the revision's recording time presented as the access (retrieved) date",
              'type-mismatch': 'item types that differ for the same document',
              'error': 'calls that gave no item', 'note': 'other observations'}
    for cat in order:
        grouped = {}
        for c, where, what in flags:
            if c == cat and what not in grouped.setdefault(where, []):
                grouped[where].append(what)
        L.append('### %s (%d call%s)' % (titles[cat], len(grouped), '' if len(grouped) == 1 else 's'))
        L.append('')
        if cat in ('note', 'recording-as-access'):  # the same message for many calls: one line per message
            by_msg = {}
            for where, whats in grouped.items():
                by_msg.setdefault('; '.join(whats), []).append(where)
            for msg, wheres in by_msg.items():
                L.append('- %s: %s' % (msg, ', '.join(wheres)))
        else:
            for where, whats in grouped.items():
                L.append('- %s: %s' % (where, '; '.join(whats)))
        if not grouped:
            L.append('- none')
        L.append('')
    # item type per document x route
    L += ['## Item types per route (← what Palimpsest sent, by which translator)', '',
          '| kind | document | target | ' + ' | '.join(ROUTES) + ' |', '|---|---|---|' + '---|' * len(ROUTES)]
    seen = {}
    for r in rows:
        seen.setdefault((r['kind'], r['slug'], r['target']), {})[r['route']] = '**%s** ← %s, by %s' % (
            r['itemType'], r['source'] or '?', r['translator'])
    for (kind, slug, target), per in seen.items():
        L.append('| %s | %s | %s | %s |' % (kind, slug, target, ' | '.join(md(per.get(x, '')) for x in ROUTES)))
    L.append('')
    L += ['## Table', '',
          '| kind | target | route | Palimpsest said | translator | itemType | title | date | url | extra / notes | edition / number | publicationTitle / websiteTitle / publisher … | creators | APA | Chicago author-date |',
          '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        L.append('| ' + ' | '.join(md(r[k]) for k in ('kind', 'target', 'route', 'source', 'translator', 'itemType', 'title',
                                                       'date', 'url', 'extra', 'numbers', 'container', 'creators',
                                                       'apa', 'chicago')) + ' |')
    L.append('')
    with open(os.path.join(OUT, 'summary.md'), 'w') as fh:
        fh.write('\n'.join(L))


if __name__ == '__main__':
    main()
