#!/usr/bin/env bash
# Fetches GraphiQL and React at the versions pinned in package.json / package-lock.json through
# npm (integrity-checked against the lock file) and copies the browser builds and their
# licences here, where the binary embeds them (src/http/graphiql.rs). Run it after changing a
# version in package.json, then commit what changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm install --no-audit --no-fund --ignore-scripts --silent)
m="$work/node_modules"
cp "$m/graphiql/graphiql.min.js" "$m/graphiql/graphiql.min.css" "$here/"
cp "$m/react/umd/react.production.min.js" "$m/react-dom/umd/react-dom.production.min.js" "$here/"
cp "$m/graphiql/LICENSE" "$here/LICENSE.graphiql"
cp "$m/react/LICENSE" "$here/LICENSE.react"
cp "$m/react-dom/LICENSE" "$here/LICENSE.react-dom"
# The source maps are not shipped; a browser's developer tools would ask for them.
sed -i '/^\/\/# sourceMappingURL=/d' "$here/graphiql.min.js"
cp "$work/package-lock.json" "$here/"
echo "GraphiQL $(node -p "require('$m/graphiql/package.json').version"), React $(node -p "require('$m/react/package.json').version")"
