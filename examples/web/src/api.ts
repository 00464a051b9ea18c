// The API this app talks to, and the urql client for it: queries over HTTP (the API is on
// another origin, so the browser asks it first, by CORS, whether this origin may read), and
// subscriptions over a WebSocket speaking graphql-transport-ws.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient } from 'graphql-ws';

/** `?api=` in the page's URL, else the build's `VITE_PALIMPSEST_URL`, else a local server. */
export function apiUrl(): string {
  const fromPage = new URLSearchParams(window.location.search).get('api');
  const configured = fromPage ?? import.meta.env.VITE_PALIMPSEST_URL ?? 'http://127.0.0.1:8080';
  return configured.replace(/\/+$/, '');
}

const TOKEN_KEY = 'palimpsest-token';

/** A bearer token the reader entered, kept for this tab only. */
export function storedToken(): string | null {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
  else window.sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * The newest consistency token an answer carried: with read replicas, a write's answer names
 * its commit (`Palimpsest-Consistency`), and a read that presents it is answered with that
 * write in it, whichever server and replica take it. Tokens of one version order as text.
 */
let consistency: string | null = null;

/** `fetch`, presenting the newest consistency token seen and keeping any newer one answered. */
const fetchReadingOwnWrites: typeof fetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  if (consistency) headers.set('palimpsest-consistency', consistency);
  const response = await fetch(input, { ...init, headers });
  const token = response.headers.get('palimpsest-consistency');
  if (token && (!consistency || token > consistency)) consistency = token;
  return response;
};

export function makeClient(api: string, token: string | null): Client {
  const authorization = token ? `Bearer ${token}` : undefined;
  const sockets = createWsClient({
    url: `${api.replace(/^http/, 'ws')}/graphql`,
    lazy: true,
    // A browser cannot set headers on a WebSocket: the token goes in connection_init.
    connectionParams: () => (authorization ? { authorization } : {}),
  });
  return new Client({
    url: `${api}/graphql`,
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const operation = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: sockets.subscribe(operation, sink) };
            },
          };
        },
      }),
    ],
    fetchOptions: () => (authorization ? { headers: { authorization } } : {}),
    fetch: fetchReadingOwnWrites,
  });
}
