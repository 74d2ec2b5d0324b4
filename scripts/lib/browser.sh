# Debian's Chromium for the browser tests (Playwright drives it; no browser is ever downloaded).
# Sourced, not run, after scripts/lib/env.sh (which defines say and die).
#
#   ensure_chromium   make sure /usr/bin/chromium exists (apt-get install chromium as root)

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Chromium from the Debian packages (for the browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || die "could not install chromium with apt-get"
  else
    die "the browser tests need Debian's chromium at /usr/bin/chromium: apt-get install chromium"
  fi
  [ -x /usr/bin/chromium ] || die "chromium is still missing after installing it"
}
