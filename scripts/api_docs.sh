#!/usr/bin/env bash
# docs/api.md, generated from the public headers' comments by Doxygen (docs/Doxyfile) and
# scripts/api_docs.py, which reads Doxygen's XML:
#   scripts/api_docs.sh            regenerate docs/api.md (commit it with the header change)
#   scripts/api_docs.sh --check    fail when a header listed in FULLY_DOCUMENTED_HEADERS
#                                  (scripts/api_docs.py) has an undocumented public declaration,
#                                  or when docs/api.md differs from what the headers give
#   scripts/api_docs.sh --summary  also count the undocumented declarations of every header
# Doxygen's output goes to a temporary directory (or --work DIR), never into the source tree.
# Needs doxygen (Debian 12: 1.9.4, installed by scripts/test.sh) and python3.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v python3 >/dev/null 2>&1; then
  echo "api_docs: python3 is not installed" >&2
  exit 1
fi
exec python3 "$ROOT/scripts/api_docs.py" "$@"
