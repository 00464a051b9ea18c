import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from './gql';
import { storeToken, storedToken } from './api';
import { DocumentList } from './DocumentList';
import { DocumentPage } from './DocumentPage';
import { DiffPage } from './DiffPage';

const Viewer = graphql(`
  query Viewer {
    viewer { name }
  }
`);

/** Where the reader is, from the URL's hash: `#/`, `#/d/{slug}`, `#/d/{slug}/diff/{from}/{to}`. */
type Route =
  | { page: 'list' }
  | { page: 'document'; slug: string }
  | { page: 'diff'; slug: string; from: string; to: string };

function route(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'd' && parts[1] && parts[2] === 'diff' && parts[3] && parts[4]) {
    return { page: 'diff', slug: parts[1], from: parts[3], to: parts[4] };
  }
  if (parts[0] === 'd' && parts[1]) return { page: 'document', slug: parts[1] };
  return { page: 'list' };
}

function useRoute(): Route {
  const [current, setCurrent] = useState(() => route(window.location.hash));
  useEffect(() => {
    const onChange = () => setCurrent(route(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return current;
}

function SignIn() {
  const token = storedToken();
  const [{ data }] = useQuery({ query: Viewer, pause: !token });
  const [draft, setDraft] = useState('');
  const apply = (value: string | null) => {
    storeToken(value);
    window.location.reload();
  };
  if (token) {
    return (
      <p className="viewer">
        Signed in as <strong data-testid="viewer">{data?.viewer?.name ?? '…'}</strong>{' '}
        <button onClick={() => apply(null)}>Sign out</button>
      </p>
    );
  }
  return (
    <form className="viewer" onSubmit={(e) => { e.preventDefault(); apply(draft.trim() || null); }}>
      <input aria-label="API token" placeholder="API token (optional)" value={draft}
        onChange={(e) => setDraft(e.target.value)} />
      <button type="submit">Use token</button>
    </form>
  );
}

export function App({ api }: { api: string }) {
  const current = useRoute();
  return (
    <>
      <header>
        <a href="#/" className="brand">Palimpsest newsroom</a>
        <span className="api" title="The API this page reads">{api}</span>
        <SignIn />
      </header>
      <main>
        {current.page === 'list' && <DocumentList />}
        {current.page === 'document' && <DocumentPage slug={current.slug} />}
        {current.page === 'diff' && (
          <DiffPage slug={current.slug} from={current.from} to={current.to} />
        )}
      </main>
    </>
  );
}
