#!/usr/bin/env bash
# Sourced: installs the pnpm version that package.json's `packageManager` pins into
# .cache/pnpm (or $CHECKPOINTKIT_PNPM_HOME) with npm, if it is not there yet, and puts it first
# on PATH. Whatever pnpm the machine has (none, another version, a broken corepack shim) is left
# alone and shadowed. See bootstrap.sh for why corepack is not used.
_ck_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ck_pnpm_version="$(node -p "require('$_ck_root/package.json').packageManager.split('@')[1].split('+')[0]")"
_ck_pnpm_home="${CHECKPOINTKIT_PNPM_HOME:-$_ck_root/.cache/pnpm}"
_ck_pnpm_bin="$_ck_pnpm_home/node_modules/.bin"

if [ "$("$_ck_pnpm_bin/pnpm" --version 2>/dev/null || true)" != "$_ck_pnpm_version" ]; then
  echo "bootstrap: installing pnpm@$_ck_pnpm_version into ${_ck_pnpm_home#"$_ck_root/"}" >&2
  mkdir -p "$_ck_pnpm_home"
  # --prefix keeps it out of npm's global folder; no package.json of ours is read or written.
  npm install --prefix "$_ck_pnpm_home" --no-save --no-package-lock --no-fund --no-audit \
    --loglevel=error "pnpm@$_ck_pnpm_version" >/dev/null
  found="$("$_ck_pnpm_bin/pnpm" --version 2>/dev/null || true)"
  if [ "$found" != "$_ck_pnpm_version" ]; then
    echo "bootstrap: pnpm@$_ck_pnpm_version did not install into $_ck_pnpm_home (got '${found}')" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
export PATH="$_ck_pnpm_bin:$PATH"
export COREPACK_ENABLE_STRICT=0 # a corepack shim elsewhere on PATH must not veto our pnpm
unset _ck_root _ck_pnpm_version _ck_pnpm_home _ck_pnpm_bin
