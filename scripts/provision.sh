#!/usr/bin/env bash
# Installs the system packages faultline's tests need (Debian). Idempotent and quick when all is
# present. As root it installs with apt; otherwise it prints the exact command to run.
set -euo pipefail

need=()
have_pg() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || command -v postgres >/dev/null; }

command -v redis-server >/dev/null || need+=(redis-server)
command -v etcd >/dev/null || need+=(etcd-server)
have_pg || need+=(postgresql)
command -v mariadbd >/dev/null || need+=(mariadb-server)
# The lab page's browser test (test/web/lab-page.test.ts) drives Debian's chromium.
command -v chromium >/dev/null || need+=(chromium)

if [[ ${#need[@]} -eq 0 ]]; then
  echo "provision: all system packages present"
  exit 0
fi

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${need[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "provision: missing ${need[*]}; run as root:" >&2
  echo "  $cmd" >&2
  exit 1
fi
echo "provision: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
# Debian starts the packaged services; the tests use private instances, so the defaults may stay.
echo "provision: done"
