#!/usr/bin/env bash
# System packages the integration tests need, from Debian's packages: the PostgreSQL 15 server
# (storage-postgres starts a throwaway cluster from it) and PgBouncer (its pooler tests start a
# throwaway one in front of that cluster). Installs only what is missing; needs root (or sudo)
# the first time. Arguments go to vscode-deps.sh.
set -euo pipefail

need=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  need+=(pgbouncer)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The tests start their own PgBouncer on 127.0.0.1 and a free port: the package's service
  # (started on machines whose policy allows it, on port 6432) is not wanted.
  if [[ " ${need[*]} " == *" pgbouncer "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      "${sudo_cmd[@]}" systemctl disable --now pgbouncer >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      "${sudo_cmd[@]}" service pgbouncer stop >/dev/null 2>&1 || true
    fi
  fi
fi
# VS Code extension tests: Chromium, Node 24, code-server (`--system-only`: Chromium alone).
bash "$(dirname "${BASH_SOURCE[0]}")/vscode-deps.sh" "$@"
