// Prints the events of one GraphQL subscription as JSON lines, with the `graphql-ws` client
// (the graphql-transport-ws protocol Apollo Client and urql use too), until `--count` came.
//
//   node subscribe.mjs SERVER_URL SUBSCRIPTION [VARIABLES_JSON] [--count N] [--timeout SECONDS]
//
// SERVER_URL is the server's base URL (http://127.0.0.1:8080); the socket is opened on
// /graphql. A token in PALIMPSEST_TOKEN is presented in `connection_init`, as a browser app
// would (a browser cannot set headers on a WebSocket). Exits 1 on an error, a close the client
// cannot recover from, or when the events do not come in time.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  return value;
};
const count = Number(option('--count', '1'));
const timeout = Number(option('--timeout', '30'));
const [server, query, variables = '{}'] = args;
if (!server || !query) {
  console.error('usage: subscribe.mjs SERVER_URL SUBSCRIPTION [VARIABLES_JSON] [--count N]');
  process.exit(2);
}

const token = process.env.PALIMPSEST_TOKEN;
const client = createClient({
  url: server.replace(/^http/, 'ws').replace(/\/$/, '') + '/graphql',
  webSocketImpl: WebSocket,
  connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  // A slow subscriber is closed with 1013 and may retry; a refused token (4403) is final.
  retryAttempts: 3,
});

const timer = setTimeout(() => {
  console.error(`no ${count} event(s) within ${timeout} s`);
  process.exit(1);
}, timeout * 1000);

let seen = 0;
const stop = client.subscribe(
  { query, variables: JSON.parse(variables) },
  {
    next: (result) => {
      if (result.errors) {
        console.error(JSON.stringify(result.errors));
        process.exit(1);
      }
      console.log(JSON.stringify(result.data));
      seen += 1;
      if (seen >= count) {
        clearTimeout(timer);
        stop();
        client.dispose();
      }
    },
    error: (error) => {
      const closed = error && typeof error.code === 'number';
      console.error(
        error instanceof Error ? error.message
          : closed ? `closed ${error.code}: ${error.reason}` : JSON.stringify(error),
      );
      process.exit(1);
    },
    complete: () => {},
  },
);
