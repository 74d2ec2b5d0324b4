# Node.js assets for Hubstead (KaTeX renders math in model cards on the server).
# Sourced, not run, after scripts/lib/env.sh (which defines HUBSTEAD_ROOT, say and die).
#
#   ensure_node_assets   make sure `node` exists and <repo>/node_modules matches package-lock.json
#
# Set HUBSTEAD_NODE_MODULES to use a node_modules directory that was installed elsewhere; this
# function then only checks that katex is there.

if ! declare -F die >/dev/null; then
  # Stand-alone use (sourced without env.sh).
  HUBSTEAD_ROOT="${HUBSTEAD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
  say() { printf '\033[1m[hubstead]\033[0m %s\n' "$*" >&2; }
  die() { printf '\033[1;31m[hubstead] error:\033[0m %s\n' "$*" >&2; exit 1; }
fi

_ensure_node_binary() {
  command -v node >/dev/null && command -v npm >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Node.js and npm from the Debian packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
      || die "could not install Node.js with apt-get"
  else
    die "Node.js is required (KaTeX renders math in model cards): install node and npm (v18 or newer), e.g. apt-get install nodejs npm"
  fi
  command -v node >/dev/null || die "node is still missing after installing nodejs"
  command -v npm >/dev/null || die "npm is still missing after installing npm"
}

ensure_node_assets() {
  _ensure_node_binary
  if [ -n "${HUBSTEAD_NODE_MODULES:-}" ]; then
    [ -f "$HUBSTEAD_NODE_MODULES/katex/package.json" ] \
      || die "HUBSTEAD_NODE_MODULES=$HUBSTEAD_NODE_MODULES has no katex package"
    return 0
  fi
  local lock="$HUBSTEAD_ROOT/package-lock.json" modules="$HUBSTEAD_ROOT/node_modules" stamp digest
  [ -f "$lock" ] || die "package-lock.json is missing in $HUBSTEAD_ROOT"
  digest="$(sha256sum "$lock" | cut -c1-16)"
  stamp="$modules/.hubstead-lock-$digest"
  if [ ! -f "$modules/katex/package.json" ] || [ ! -f "$stamp" ]; then
    say "installing the Node.js packages (npm ci)"
    (cd "$HUBSTEAD_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    touch "$stamp"
  fi
}
