import type { CombinedError } from 'urql';

/** What went wrong, as a reader should see it: the API unreachable (or refusing this origin),
 * or the API's own error with its code. */
export function Failure({ error }: { error: CombinedError }) {
  if (error.networkError) {
    return (
      <p role="alert" className="failure" data-testid="failure">
        Could not reach the API ({error.networkError.message}). Is it running, and does it allow
        this page's origin ({window.location.origin})?
      </p>
    );
  }
  return (
    <p role="alert" className="failure" data-testid="failure">
      {error.graphQLErrors
        .map((e) => `${e.message} (${String(e.extensions?.code ?? 'ERROR')})`)
        .join('; ')}
    </p>
  );
}
