#!/bin/bash
# Installs this checkout's build (dist/bin/cni-ts) into DEST (default /opt/cni/bin).
#   scripts/install.sh [--plugins bridge,host-local,flannel,...] [--replace] [DEST]
# A thin wrapper over `dist/bin/cni-ts install --bin-dir DEST` (see `cni-ts install --help`): every
# name is replaced by rename, flannel gets its own copy so kube-flannel's `cp -f` over it cannot
# reach the other plugins, files that are not ours are kept unless --replace, and a second run
# changes nothing.
set -euo pipefail

args=()
dest=""
while [ $# -gt 0 ]; do
  case "$1" in
    --plugins) args+=(--plugins "$2"); shift 2 ;;
    --plugins=*|--replace) args+=("$1"); shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) dest="$1"; shift ;;
  esac
done
exe="$(cd "$(dirname "$0")/.." && pwd)/dist/bin/cni-ts"
[ -x "$exe" ] || { echo "install.sh: $exe is missing; run 'npm run build' first" >&2; exit 1; }
exec "$exe" install --bin-dir "${dest:-/opt/cni/bin}" "${args[@]}"
