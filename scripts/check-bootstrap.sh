#!/usr/bin/env bash
# CI's fresh-machine check: runs the README's bootstrap in a sandbox that looks like a new
# user's machine, twice each way, and asserts that the pinned pnpm is found and the workspace
# installs.
#   1. no pnpm anywhere on PATH;
#   2. a pnpm shim from `corepack enable` in npm's global bin folder that fails on every call
#      ("No compatible signature found", as Node 20's corepack does when it cannot verify pnpm).
# npm's global prefix is a temporary folder, so nothing here touches the machine's own.
# Usage: bash scripts/check-bootstrap.sh   (clones the committed HEAD of this repository)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sandbox="$(mktemp -d)"
trap 'rm -rf "$sandbox"' EXIT
fail() { echo "check-bootstrap: FAILED: $*" >&2; exit 1; }

git clone -q "$repo_root" "$sandbox/repo"
pinned="$(node -p "require('$sandbox/repo/package.json').packageManager.split('@')[1]")"
prefix="$sandbox/npm-global"
mkdir -p "$prefix/bin"

# PATH with the sandbox's global bin first and no pnpm: a folder that holds one (even
# /usr/bin, where Debian's Node puts corepack's shims) is replaced by a copy made of symlinks to
# everything in it but pnpm and pnpx.
clean_path="$prefix/bin"
IFS=: read -r -a entries <<<"$PATH"
for i in "${!entries[@]}"; do
  entry="${entries[$i]}"
  [ -n "$entry" ] && [ -d "$entry" ] || continue
  if [ -e "$entry/pnpm" ] || [ -e "$entry/pnpx" ]; then
    copy="$sandbox/path-$i"
    mkdir -p "$copy"
    for file in "$entry"/*; do
      case "${file##*/}" in pnpm | pnpx) ;; *) ln -s "$file" "$copy/" ;; esac
    done
    entry="$copy"
  fi
  clean_path="$clean_path:$entry"
done

in_sandbox() {
  (
    cd "$sandbox/repo"
    env -u CHECKPOINTKIT_PNPM_HOME PATH="$clean_path" npm_config_prefix="$prefix" \
      COREPACK_INTEGRITY_KEYS="$bogus_keys" COREPACK_HOME="$sandbox/corepack" CI=true "$@"
  )
}
# An empty corepack cache (a pnpm corepack fetched before would run without a check), and a
# signing key that no npm package is signed with: corepack's shim then fails to verify pnpm on
# any machine, as the real one does on a machine whose corepack lacks npm's current keys.
bogus_keys='{"npm":[{"expires":null,"keyid":"SHA256:checkpointkit-sandbox","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEY6Ya7W++7aUPzvMTrezH6Ycx3c+HOKYCcNGybJZSCJq/fd7Qa8uuAKtdIkUQtQiEKERhAmE5lMMJhP8OkDOa2g=="}]}'

check_bootstrap() {
  local label="$1" round
  for round in 1 2; do
    echo "check-bootstrap: $label, run $round"
    in_sandbox bash -c '
      set -euo pipefail
      source scripts/bootstrap.sh >/dev/null
      found="$(command -v pnpm)"
      [ "$found" = "$PWD/.cache/pnpm/node_modules/.bin/pnpm" ] || { echo "pnpm found at $found" >&2; exit 1; }
      [ "$(pnpm --version)" = "$1" ] || { echo "pnpm $(pnpm --version), pinned $1" >&2; exit 1; }
      [ -f node_modules/.modules.yaml ] && [ -d packages/core/node_modules/zod ] || { echo "workspace not installed" >&2; exit 1; }
      [ "$(./scripts/pnpm --version)" = "$1" ] || { echo "./scripts/pnpm is not the pinned pnpm" >&2; exit 1; }
    ' _ "$pinned" || fail "$label, run $round"
  done
  [ ! -e "$prefix/lib/node_modules/pnpm" ] || fail "$label: pnpm was installed into npm's global folder"
}

# 1. A machine with no pnpm.
in_sandbox bash -c '! command -v pnpm >/dev/null' || fail "the sandbox still has a pnpm on PATH"
check_bootstrap "no pnpm"

# 2. A broken corepack shim in the global bin folder, and no pnpm in the repository's cache.
rm -rf "$sandbox/repo/.cache/pnpm" "$sandbox/repo/node_modules"
if command -v corepack >/dev/null 2>&1; then
  in_sandbox corepack enable --install-directory "$prefix/bin" pnpm
else # Node releases without corepack: a shim that fails the same way
  printf '#!/bin/sh\necho "Error: No compatible signature found in package metadata" >&2\nexit 1\n' >"$prefix/bin/pnpm"
  chmod +x "$prefix/bin/pnpm"
fi
shim_before="$(ls -l "$prefix/bin")"
if in_sandbox pnpm --version >/dev/null 2>&1; then fail "the sandbox's corepack shim works; it should fail"; fi
check_bootstrap "broken corepack shim"
[ "$(ls -l "$prefix/bin")" = "$shim_before" ] || fail "bootstrap changed npm's global bin folder"
echo "check-bootstrap: ok (pnpm $pinned found and the workspace installed, twice each way)"
