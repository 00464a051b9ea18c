import { useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { graphql } from './gql';
import { Failure } from './Failure';

const Page = graphql(`
  query DocumentPage($slug: String!) {
    document(slug: $slug) {
      id
      slug
      title
      kind
      url
      head { hash number }
      revisions(first: 50) {
        totalCount
        nodes { hash number message createdAt author { name } parent { hash } }
      }
      citations(first: 50) {
        nodes {
          id
          relation
          citingPassage { exact }
          targetPassage { exact }
          targetDocument { slug title }
          targetSource { sourceTitle }
          verification { status }
          currentVerification { status reason }
        }
      }
    }
  }
`);

const Changes = graphql(`
  subscription DocumentLive($id: ID!) {
    documentChanged(ids: [$id]) {
      revision { number author { name } }
    }
  }
`);

/** Tells of each revision of the document as it lands, and reloads the page's data. */
function Live({ id, onChange }: { id: string; onChange: () => void }) {
  const [{ data }] = useSubscription({ query: Changes, variables: { id } }, (_, event) => {
    onChange();
    return event;
  });
  const revision = data?.documentChanged.revision;
  if (!revision) return null;
  return (
    <p className="live" role="status" data-testid="live">
      Revision {revision.number} by {revision.author.name} just landed.
    </p>
  );
}

/** One document: its history (newest first, as the API lists it; each with a diff against its parent, and a
 * comparison of any two) and its citations with their verdicts. */
export function DocumentPage({ slug }: { slug: string }) {
  const [{ data, error }, reload] = useQuery({ query: Page, variables: { slug } });
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  if (error) return <Failure error={error} />;
  if (!data) return <p aria-busy="true">Loading {slug}…</p>;
  const document = data.document;
  if (!document) return <p role="alert">No document has the slug “{slug}”.</p>;
  const revisions = document.revisions.nodes;
  const diffLink = (older: string, newer: string) =>
    `#/d/${encodeURIComponent(slug)}/diff/${older}/${newer}`;
  return (
    <article>
      <p><a href="#/">← All documents</a></p>
      <h1>{document.title}</h1>
      <p className="muted">
        {document.kind.toLowerCase()} · {document.revisions.totalCount} revisions ·{' '}
        <a href={document.url}>permanent link</a>
      </p>
      <Live id={document.id} onChange={() => reload({ requestPolicy: 'network-only' })} />

      <h2>History</h2>
      <ol className="history" data-testid="history" reversed>
        {revisions.map((revision) => (
          <li key={revision.hash}>
            <strong>#{revision.number}</strong> {revision.message || <em>no message</em>}
            <span className="muted">
              {' '}— {revision.author.name}, {new Date(revision.createdAt).toLocaleString()}
            </span>
            {revision.parent && (
              <> · <a href={diffLink(revision.parent.hash, revision.hash)}>changes</a></>
            )}
          </li>
        ))}
      </ol>
      {revisions.length > 1 && (
        <form
          className="compare"
          onSubmit={(e) => {
            e.preventDefault();
            if (from && to) window.location.hash = diffLink(from, to);
          }}
        >
          Compare{' '}
          <select aria-label="from" value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">revision…</option>
            {revisions.map((r) => <option key={r.hash} value={r.hash}>#{r.number}</option>)}
          </select>{' '}
          with{' '}
          <select aria-label="to" value={to} onChange={(e) => setTo(e.target.value)}>
            <option value="">revision…</option>
            {revisions.map((r) => <option key={r.hash} value={r.hash}>#{r.number}</option>)}
          </select>{' '}
          <button type="submit" disabled={!from || !to}>Compare</button>
        </form>
      )}

      <h2>Citations</h2>
      {document.citations.nodes.length === 0 ? (
        <p className="muted">This revision cites nothing.</p>
      ) : (
        <ul className="citations" data-testid="citations">
          {document.citations.nodes.map((citation) => (
            <li key={citation.id}>
              <span className={`verdict ${citation.currentVerification.status.toLowerCase()}`}>
                {citation.currentVerification.status.replace('_', ' ')}
              </span>{' '}
              {citation.relation.toLowerCase()}{' '}
              {citation.targetDocument ? (
                <a href={`#/d/${encodeURIComponent(citation.targetDocument.slug)}`}>
                  {citation.targetDocument.title}
                </a>
              ) : (
                <em>{citation.targetSource?.sourceTitle ?? 'an unnamed source'}</em>
              )}
              {citation.targetPassage?.exact && <q>{citation.targetPassage.exact}</q>}
              <span className="muted"> {citation.currentVerification.reason}</span>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}
