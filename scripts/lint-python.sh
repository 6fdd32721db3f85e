#!/usr/bin/env bash
# Lints the Python the action ships (src/python, the auth plugin of token-use: direct) with flake8
# (Debian: python3-flake8), or pyflakes and pycodestyle when flake8 is absent. Without any of them it
# only compiles the files and says which package to install: npm run lint must work on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
[ -x "$python" ] || python=python3
files=(src/python/*.py)
# Compiled in memory: no __pycache__ in the tree.
"$python" -c 'import sys
for name in sys.argv[1:]:
    with open(name, encoding="utf-8") as f:
        compile(f.read(), name, "exec")' "${files[@]}"
if "$python" -c 'import flake8' 2>/dev/null; then
  exec "$python" -m flake8 "${files[@]}"
fi
if "$python" -c 'import pyflakes, pycodestyle' 2>/dev/null; then
  "$python" -m pyflakes "${files[@]}"
  exec "$python" -m pycodestyle --max-line-length=120 "${files[@]}"
fi
echo "lint-python: flake8 is not installed (apt-get install python3-flake8): src/python was only compiled." >&2
