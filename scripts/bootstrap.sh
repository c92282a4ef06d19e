#!/usr/bin/env bash
# Shared set-up for scripts/run.sh and scripts/test.sh: system packages (on Debian/Ubuntu),
# a virtual environment in .venv, and Vardeild installed into it in editable mode.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
command -v gpg >/dev/null || need_apt+=(gnupg)
command -v gcc >/dev/null || need_apt+=(gcc)
# The vulnerability overview: nmap scans; nginx and sshd are real services its tests scan on
# loopback; Pango/HarfBuzz and a font for WeasyPrint's PDF reports; pdftoppm checks a page.
command -v nmap >/dev/null || need_apt+=(nmap)
command -v nginx >/dev/null || need_apt+=(nginx-light)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || need_apt+=(libharfbuzz-subset0)
[ -d /usr/share/fonts/truetype/dejavu ] || need_apt+=(fonts-dejavu-core)
# The portal's browser tests: Debian's Chromium and its chromedriver (Selenium drives them).
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
python3 -c 'import sysconfig, os, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)' 2>/dev/null \
  || need_apt+=(python3-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "vardeild: installing system packages: ${need_apt[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
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
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip 2>/dev/null || true
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch "$stamp"
fi
