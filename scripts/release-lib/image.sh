#!/bin/bash
# Builds the installer image for every architecture of a release, offline, with Debian's buildah:
# FROM scratch plus the cni-ts executable and the four glibc files it links (taken from the
# machine's libc6 / libc6:arm64), then a multi-arch index, saved as one OCI archive.
#   scripts/release-lib/image.sh VERSION OUT_DIR ARCH...
# reads OUT_DIR/work/cni-ts-VERSION-linux-ARCH/cni-ts, writes OUT_DIR/cni-ts-VERSION.oci.tar.
# Storage is private (a temp --root/--runroot, vfs driver): the machine's container storage, which
# other tests use, is never touched. containers/image also writes a blob-info cache to
# /var/lib/containers/cache when run as root, whatever --root says, so this script runs in a private
# mount namespace whose /var/lib is an overlay with a throwaway upper layer.
set -euo pipefail
if [ -z "${CNI_TS_IMAGE_PRIVATE_NS:-}" ]; then
  exec unshare --mount --propagation private env CNI_TS_IMAGE_PRIVATE_NS=1 "$0" "$@"
fi
version=$1 out=$2
shift 2
archs=("$@")

declare -A TRIPLET=([amd64]=x86_64-linux-gnu [arm64]=aarch64-linux-gnu)
declare -A LOADER=([amd64]=/lib64/ld-linux-x86-64.so.2 [arm64]=/lib/ld-linux-aarch64.so.1)
declare -A PACKAGE=([amd64]=libc6:amd64 [arm64]=libc6:arm64)

store=$(mktemp -d "${TMPDIR:-/tmp}/cni-ts-image-store.XXXXXX")
# buildah's network setup creates its CNI config dir and a cni.lock there even for FROM scratch:
# keep it in the store, never in the machine's /etc/cni/net.d.
mkdir "$store/net.d"
printf '[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "%s"\n' "$store/net.d" > "$store/containers.conf"
export CONTAINERS_CONF="$store/containers.conf"
buildah() { command buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  umount /var/lib 2>/dev/null || true
  umount "$store/var-lib" 2>/dev/null || true
  rm -rf "$store"
}
trap cleanup EXIT
mkdir "$store/var-lib"
mount -t tmpfs tmpfs "$store/var-lib"
mkdir "$store/var-lib/upper" "$store/var-lib/work"
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$store/var-lib/upper,workdir=$store/var-lib/work" /var/lib
epoch=${SOURCE_DATE_EPOCH:-$(date +%s)}
list="localhost/cni-ts:$version"
buildah manifest create "$list" >/dev/null

for arch in "${archs[@]}"; do
  exe="$out/work/cni-ts-$version-linux-$arch/cni-ts"
  [ -x "$exe" ] || { echo "image.sh: $exe is missing" >&2; exit 1; }
  dpkg-query -W -f='${Status}' "${PACKAGE[$arch]}" 2>/dev/null | grep -q "install ok installed" \
    || { echo "image.sh: ${PACKAGE[$arch]} is not installed (scripts/lib/prerequisites.sh installs it)" >&2; exit 1; }
  rootfs="$store/rootfs-$arch"
  libdir="$rootfs/lib/${TRIPLET[$arch]}"
  mkdir -p "$libdir" "$rootfs$(dirname "${LOADER[$arch]}")" "$rootfs/tmp" "$rootfs/usr/share/doc/libc6"
  chmod 1777 "$rootfs/tmp"
  for lib in libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2; do cp -L "/lib/${TRIPLET[$arch]}/$lib" "$libdir/$lib"; done
  cp -L "${LOADER[$arch]}" "$rootfs${LOADER[$arch]}"
  cp /usr/share/doc/libc6/copyright "$rootfs/usr/share/doc/libc6/copyright"
  cp "$exe" "$rootfs/cni-ts"
  find "$rootfs" -exec touch -h -d "@$epoch" {} +

  ctr=$(buildah from --arch "$arch" --os linux scratch)
  containers+=("$ctr")
  buildah copy "$ctr" "$rootfs" / >/dev/null
  buildah config --arch "$arch" --os linux \
    --entrypoint '["/cni-ts"]' --cmd 'install --bin-dir /host/opt/cni/bin' \
    --label org.opencontainers.image.title=cni-ts \
    --label org.opencontainers.image.version="$version" \
    --label org.opencontainers.image.description="CNI plugins for flannel nodes; the default command installs them into /host/opt/cni/bin" \
    --label org.opencontainers.image.licenses="Apache-2.0 AND LGPL-2.1-or-later" "$ctr"
  buildah commit --quiet --format oci --timestamp "$epoch" "$ctr" "localhost/cni-ts:$version-$arch" >/dev/null
  buildah manifest add --arch "$arch" --os linux "$list" "containers-storage:localhost/cni-ts:$version-$arch" >/dev/null
done

archive="$out/cni-ts-$version.oci.tar"
rm -f "$archive"
buildah manifest push --quiet --all --format oci "$list" "oci-archive:$archive:cni-ts:$version" >/dev/null
echo "image: $archive ($(du -m "$archive" | cut -f1) MB; ${archs[*]}; reference cni-ts:$version)" >&2
