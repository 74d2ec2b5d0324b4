# Shared by scripts/serve and scripts/test: a virtualenv in .venv with Hubstead installed.
# Sourced, not run. Set PYTHON to choose the interpreter (3.11 or newer).

HUBSTEAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$HUBSTEAD_ROOT/.venv"

say() { printf '\033[1m[hubstead]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[hubstead] error:\033[0m %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  # $1: the extras to install ("" for the server only, "test" for the test suite)
  local extras="$1" python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || die "$python not found: install Python 3.11 or newer"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is required"
  command -v git >/dev/null || die "git not found: install git"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtualenv in .venv"
    "$python" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
  fi
  local spec="$HUBSTEAD_ROOT" stamp
  [ -n "$extras" ] && spec="$HUBSTEAD_ROOT[$extras]"
  stamp="$VENV/.installed-$(cat "$HUBSTEAD_ROOT/pyproject.toml" | sha256sum | cut -c1-16)-${extras:-base}"
  if [ ! -f "$stamp" ]; then
    say "installing Hubstead${extras:+ with its $extras dependencies} into .venv"
    "$VENV/bin/pip" install --quiet -e "$spec" || die "pip install failed"
    touch "$stamp"
  fi
}
