#!/usr/bin/env bash
# System packages the integration tests need, from Debian's packages: the PostgreSQL 15 server
# (storage-postgres starts a throwaway cluster from it). Installs only what is missing; needs root
# (or sudo) the first time. Arguments go to vscode-deps.sh.
set -euo pipefail

need=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# VS Code extension tests: Chromium, Node 24, code-server (`--system-only`: Chromium alone).
bash "$(dirname "${BASH_SOURCE[0]}")/vscode-deps.sh" "$@"
