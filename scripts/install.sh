#!/bin/bash
# Installs the suite's executables into DEST (default /opt/cni/bin).
#   scripts/install.sh [--plugins bridge,host-local,flannel,loopback,portmap,bandwidth] [DEST]
# One copy of the multi-call executable (cni-ts) plus a hard link per plugin name. Every file is
# replaced by rename, so running plugins keep their old inode and a runtime never sees a half-written
# file. Other plugins in DEST are left alone.
set -euo pipefail

ALL="$(tr -d '[]",' < "$(dirname "$0")/../shared/plugin-names.json")"
ALL="$(echo $ALL)"
plugins="$ALL"
dest=""
while [ $# -gt 0 ]; do
  case "$1" in
    --plugins) plugins="${2//,/ }"; shift 2 ;;
    --plugins=*) plugins="${1#--plugins=}"; plugins="${plugins//,/ }"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) dest="$1"; shift ;;
  esac
done
dest="${dest:-/opt/cni/bin}"
src="$(cd "$(dirname "$0")/.." && pwd)/dist/bin/cni-ts"

[ -x "$src" ] || { echo "install.sh: $src is missing; run 'npm run build' first" >&2; exit 1; }
for p in $plugins; do
  case " $ALL " in *" $p "*) ;; *) echo "install.sh: unknown plugin '$p' (known: $ALL)" >&2; exit 2 ;; esac
done

mkdir -p "$dest"
tmp="$dest/.cni-ts.new.$$"
trap 'rm -f "$tmp"' EXIT
cp "$src" "$tmp"
chmod 0755 "$tmp"
sync -f "$tmp" 2>/dev/null || sync
# Names already linked to the previous cni-ts move to the new one too, so no plugin is left on an
# older build (in-process delegation between plugins needs them to be one file).
old_inode="$(stat -c %i "$dest/cni-ts" 2>/dev/null || true)"
if [ -n "$old_inode" ]; then
  for p in $ALL; do
    if [ "$(stat -c %i "$dest/$p" 2>/dev/null || true)" = "$old_inode" ]; then
      case " $plugins " in *" $p "*) ;; *) plugins="$plugins $p" ;; esac
    fi
  done
fi
mv -f "$tmp" "$dest/cni-ts"
for p in $plugins; do
  link="$dest/.$p.new.$$"
  ln -f "$dest/cni-ts" "$link"
  mv -f "$link" "$dest/$p"
done
echo "installed cni-ts as: $plugins -> $dest"
