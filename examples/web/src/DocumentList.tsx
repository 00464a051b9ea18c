import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from './gql';
import { Failure } from './Failure';

const PAGE_SIZE = 5;

/** A performance mark when the first documents show, for real-user timing (and the test). */
const FIRST_DOCUMENTS = 'palimpsest:first-documents';

const Documents = graphql(`
  query DocumentList($first: Int!, $after: String) {
    documents(first: $first, after: $after, orderBy: { field: UPDATED_AT, direction: DESC }) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        slug
        title
        kind
        updatedAt
        head { number author { name } }
      }
    }
  }
`);

/** The documents, newest change first, a page at a time (Relay cursors: `after`). */
export function DocumentList() {
  // The cursors of the pages before this one, to go back without asking for `before`.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const [{ data, fetching, error }] = useQuery({
    query: Documents,
    variables: { first: PAGE_SIZE, after },
  });
  useEffect(() => {
    if (data && performance.getEntriesByName(FIRST_DOCUMENTS).length === 0) {
      performance.mark(FIRST_DOCUMENTS);
    }
  }, [data]);
  if (error) return <Failure error={error} />;
  if (!data) return <p aria-busy="true">{fetching ? 'Loading documents…' : ''}</p>;
  const { nodes, pageInfo, totalCount } = data.documents;
  const page = cursors.length;
  return (
    <section>
      <h1>Documents</h1>
      <p className="muted" data-testid="page-info">
        Page {page} of {Math.max(1, Math.ceil(totalCount / PAGE_SIZE))} · {totalCount} documents
      </p>
      <ul className="documents" data-testid="documents">
        {nodes.map((document) => (
          <li key={document.id}>
            <a href={`#/d/${encodeURIComponent(document.slug)}`}>{document.title}</a>
            <span className="muted">
              {' '}{document.kind.toLowerCase()} · revision {document.head.number} by{' '}
              {document.head.author.name} · {new Date(document.updatedAt).toLocaleString()}
            </span>
          </li>
        ))}
      </ul>
      <nav className="pager">
        <button disabled={page === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button
          disabled={!pageInfo.hasNextPage}
          onClick={() => setCursors([...cursors, pageInfo.endCursor ?? null])}
        >
          Older →
        </button>
      </nav>
    </section>
  );
}
