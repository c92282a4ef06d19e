#!/usr/bin/env bash
# Shared set-up for scripts/run.sh and scripts/test.sh: system packages (on Debian/Ubuntu),
# a virtual environment in .venv, and Vardeild installed into it in editable mode.
# `--test` (scripts/test.sh) adds what only the tests need: real services to scan, a browser,
# a real OpenID Connect provider (Node and its npm packages).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
command -v gpg >/dev/null || need_apt+=(gnupg)
command -v gcc >/dev/null || need_apt+=(gcc)
# The C extension that writes events into SQLite without the GIL (setup.py) needs its header.
[ -f /usr/include/sqlite3.h ] || need_apt+=(libsqlite3-dev)
# The vulnerability overview: nmap scans; Pango/HarfBuzz and a font for WeasyPrint's PDF reports.
command -v nmap >/dev/null || need_apt+=(nmap)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || need_apt+=(libharfbuzz-subset0)
[ -d /usr/share/fonts/truetype/dejavu ] || need_apt+=(fonts-dejavu-core)
if $for_tests; then
  # nginx and sshd are real services the scan tests start on loopback ports of their own;
  # pdftoppm checks a report page; the portal's browser test drives Chromium with Selenium.
  command -v nginx >/dev/null || need_apt+=(nginx-light)
  [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
  command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
  # The e-mail intake's IMAP poller is tested against a real Dovecot on a loopback port.
  [ -x /usr/sbin/dovecot ] || need_apt+=(dovecot-imapd)
  # The OIDC sign-in tests run a real OpenID provider (npm's oidc-provider) under Node.
  command -v node >/dev/null || need_apt+=(nodejs)
  command -v npm >/dev/null || need_apt+=(npm)
  if ! command -v chromium >/dev/null; then
    # Debian names it chromium; Ubuntu, chromium-browser (whose chromedriver is packaged apart).
    if apt-cache show chromium >/dev/null 2>&1; then
      need_apt+=(chromium chromium-driver)
    else
      need_apt+=(chromium-browser chromium-chromedriver)
    fi
  fi
fi
python3 -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' 2>/dev/null \
  || need_apt+=(python3-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "vardeild: installing system packages: ${need_apt[*]}" >&2
  # Installing nginx or openssh-server would start them as system services: policy-rc.d (the
  # Debian way to say "start nothing now") keeps the install from starting any, unless the
  # machine has a policy of its own. The tests start their own instances on loopback.
  policy=/usr/sbin/policy-rc.d
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    as_root=(missing)
  fi
  if [ "${as_root[0]:-}" != missing ]; then
    own_policy=false
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
      "${as_root[@]}" chmod 755 "$policy"
      own_policy=true
    fi
    status=0
    "${as_root[@]}" apt-get update -qq \
      && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" \
      || status=$?
    if $own_policy; then "${as_root[@]}" rm -f "$policy"; fi
    [ "$status" -eq 0 ] || exit "$status"
  else
    echo "vardeild: please install these packages first: ${need_apt[*]}" >&2; exit 1
  fi
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "vardeild: Python 3.11 or newer is needed (found $(python3 --version))." >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.vardeild-installed
# Again when the project's metadata or its C extensions (setup.py) change.
native_changed=false
for source in src/vardeild/monitoring/*.c src/vardeild/monitoring/parsers/*.c \
  src/vardeild/monitoring/parsers/*.h; do
  [ "$source" -nt "$stamp" ] && native_changed=true
done
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] \
  || $native_changed; then
  .venv/bin/python -m pip install --quiet --upgrade pip 2>/dev/null || true
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi

if $for_tests; then
  # The OIDC test provider's npm packages, as pinned in its lock file (again when it changes).
  oidc=tests/support/oidc_provider
  if [ ! -f "$oidc/node_modules/.package-lock.json" ] \
    || [ "$oidc/package-lock.json" -nt "$oidc/node_modules/.package-lock.json" ]; then
    if command -v npm >/dev/null; then
      npm ci --prefix "$oidc" --no-audit --no-fund --loglevel=error \
        || echo "vardeild: npm ci failed (offline?); the OIDC sign-in tests will skip" >&2
    else
      echo "vardeild: npm is missing; the OIDC sign-in tests will skip" >&2
    fi
  fi
fi
