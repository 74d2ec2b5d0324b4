# Sourced by scripts/test after env.sh: one plain virtualenv per older huggingface_hub release
# listed in tests/clients/old-clients.txt, at .venv-clients/NAME, with only that release and
# hf_xet (and their dependencies) from PyPI, for tests/test_old_clients.py.

CLIENTS_DIR="$HUBSTEAD_ROOT/.venv-clients"
CLIENTS_LIST="$HUBSTEAD_ROOT/tests/clients/old-clients.txt"

ensure_client_venvs() {
  local python="${PYTHON:-python3}" name reqs venv stamp
  while read -r name reqs || [ -n "$name" ]; do
    case "$name" in '' | '#'*) continue ;; esac
    venv="$CLIENTS_DIR/$name"
    stamp="$venv/.installed-$(printf '%s %s' "$("$python" -V 2>&1)" "$reqs" | sha256sum | cut -c1-16)"
    [ -f "$stamp" ] && continue
    say "creating the client virtualenv .venv-clients/$name ($reqs)"
    rm -rf "$venv"
    # shellcheck disable=SC2086  # $reqs is a list of requirements
    if "$python" -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check $reqs; then
      touch "$stamp"
    else
      rm -rf "$venv"
      [ "${CI:-}" = "true" ] && die "could not install $reqs into .venv-clients/$name"
      say "could not install $reqs: tests/test_old_clients.py skips $name"
    fi
  done <"$CLIENTS_LIST"
}
