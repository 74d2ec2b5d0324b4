# Sourced by scripts/test after env.sh (and after ensure_venv): the S3-compatible server of the
# object-storage pass, moto in server mode (installed into .venv by the test extra).
#
#   ensure_s3_server   start moto_server on 127.0.0.1:$HUBSTEAD_TEST_S3_PORT (default 5055)
#                      unless one answers there; exports HUBSTEAD_TEST_S3_ENDPOINT
#
# moto keeps its buckets in memory; each test hub creates a bucket of its own and removes it.
# With CI=true a missing moto is an error (never a skipped pass).

_s3_ready() {
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2).close()
PY
}

ensure_s3_server() {
  local port="${HUBSTEAD_TEST_S3_PORT:-5055}"
  local endpoint="http://127.0.0.1:$port"
  export HUBSTEAD_TEST_S3_ENDPOINT="$endpoint"
  _s3_ready "$endpoint" && return 0
  if [ ! -x "$VENV/bin/moto_server" ]; then
    die "moto_server is missing from .venv (the test extra pins moto[server]): pip install -e '.[test]'"
  fi
  say "starting moto_server (S3) on $endpoint"
  local log="${TMPDIR:-/tmp}/hubstead-moto-$port.log"
  # its own session: it outlives this script's pass and serves the next run too
  setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do _s3_ready "$endpoint" && return 0; sleep 0.2; done
  die "moto_server did not answer at $endpoint (see $log)"
}
