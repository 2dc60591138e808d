#!/usr/bin/env bash
# Make sure the Python given as $1 exists and can create virtual environments, and the system packages
# the suite needs at run time are there.
set -euo pipefail
PY=${1:-python3.11}
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "$PY not found: installing it with apt-get" >&2
  apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv python3.11-dev >/dev/null
fi
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "$PY cannot create virtual environments: installing python3.11-venv" >&2
  apt-get update -qq && apt-get install -y -qq python3.11-venv >/dev/null
fi
# The PDF documents (guichet_common.pdf) are drawn with DejaVu Sans: fpdf2's own fonts have no "€".
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "DejaVu fonts not found: installing fonts-dejavu-core" >&2
  apt-get update -qq && apt-get install -y -qq fonts-dejavu-core >/dev/null
fi
