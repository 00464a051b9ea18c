import { useQuery } from 'urql';
import { graphql } from './gql';
import { Failure } from './Failure';

const Compare = graphql(`
  query DiffPage($from: String!, $to: String!) {
    diff(from: $from, to: $to, granularity: WORD) {
      from { number }
      to { number }
      stats { insertions deletions }
      hunks { oldStart newStart changes { op text } }
    }
  }
`);

/** What changed between two revisions, word by word. */
export function DiffPage({ slug, from, to }: { slug: string; from: string; to: string }) {
  const [{ data, error }] = useQuery({ query: Compare, variables: { from, to } });
  if (error) return <Failure error={error} />;
  if (!data) return <p aria-busy="true">Comparing…</p>;
  const { diff } = data;
  return (
    <article>
      <p><a href={`#/d/${encodeURIComponent(slug)}`}>← History</a></p>
      <h1>
        Revision {diff.from?.number ?? 0} → {diff.to.number}
      </h1>
      <p className="muted" data-testid="diff-stats">
        {diff.stats.insertions} words added, {diff.stats.deletions} removed
      </p>
      {diff.hunks.map((hunk) => (
        <pre className="hunk" key={`${hunk.oldStart}-${hunk.newStart}`} data-testid="hunk">
          {hunk.changes.map((change, i) =>
            change.op === 'INSERT' ? <ins key={i}>{change.text}</ins>
              : change.op === 'DELETE' ? <del key={i}>{change.text}</del>
                : <span key={i}>{change.text}</span>,
          )}
        </pre>
      ))}
    </article>
  );
}
