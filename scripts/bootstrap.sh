#!/usr/bin/env bash
# Sourced by the other scripts: puts the pinned pnpm first on PATH and installs the workspace.
# Works on a fresh machine that has only Node 20+, npm, git and Debian's packages.
#
# pnpm is installed with npm into the repository's own cache (.cache/pnpm), never globally and
# never through corepack: Node 20's bundled corepack may not know npm's current signing keys, and
# `corepack enable` then leaves a pnpm shim in the global bin folder that fails on every call
# ("No compatible signature found") and blocks a later `npm install --global pnpm` (EEXIST).
# npm checks the tarball's integrity itself. The version is the one `packageManager` pins.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

# shellcheck source=scripts/pnpm-path.sh
source "$repo_root/scripts/pnpm-path.sh"

if [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --reporter=silent
fi
