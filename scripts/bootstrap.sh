#!/usr/bin/env bash
# Sourced by the other scripts: makes sure the pinned pnpm is on PATH and the workspace is
# installed. Works on a fresh machine that has only Node 20+, git and Debian's packages.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

pnpm_version="$(node -p "require('./package.json').packageManager.split('@')[1]")"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0

if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  # corepack first (it reads packageManager); Node 20's corepack may not know the current npm
  # signing keys, so fall back to npm, which checks the tarball's integrity itself.
  if ! { corepack enable pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$pnpm_version" ]; }; then
    echo "bootstrap: installing pnpm@$pnpm_version with npm"
    npm install --global --no-fund --no-audit "pnpm@$pnpm_version" >/dev/null
  fi
fi

if [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --reporter=silent
fi
