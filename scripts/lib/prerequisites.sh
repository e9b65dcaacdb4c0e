# Sourced by scripts/test and scripts/demo: installs what a fresh Debian machine lacks, then builds
# if needed. Quiet when everything is already there.

# What the plugins need at run time and the harness needs to drive and compare them: ip/bridge,
# iptables(-restore), nft, ping, nsenter, sysctl, Go + Debian's libcni source (cnitool), the
# reference plugins (/usr/lib/cni).
DEMO_DEBIAN_PACKAGES="iproute2 iptables nftables iputils-ping util-linux procps golang-go golang-github-appc-cni-dev containernetworking-plugins"
# The tests also use hyperfine and jq (bench), conntrack (portmap's UDP flush), and podman with runc,
# busybox-static and catatonit (the real-runtime test).
TEST_DEBIAN_PACKAGES="$DEMO_DEBIAN_PACKAGES hyperfine jq conntrack podman runc busybox-static catatonit"
# The release (npm run release) and its tests: buildah and skopeo build and read the installer
# image offline; libc6:arm64 goes into the arm64 image and, with qemu-user-static, runs the arm64
# executables here; qemu-x86_64-static -cpu Nehalem proves the x86-64 minimum CPU.
RELEASE_DEBIAN_PACKAGES="buildah skopeo qemu-user-static libc6:arm64"
TEST_DEBIAN_PACKAGES="$TEST_DEBIAN_PACKAGES $RELEASE_DEBIAN_PACKAGES"

missing_debian_packages() {
  local p missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  echo "$missing"
}

# Packages named PACKAGE:ARCH need their architecture enabled first (idempotent: dpkg lists each
# foreign architecture once); apt-get update then fetches its package lists.
enable_foreign_architectures() {
  local p arch
  for p in "$@"; do
    case "$p" in
      *:*) arch=${p#*:}
        if [ "$arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
          echo "enabling the $arch package architecture (dpkg --add-architecture $arch)" >&2
          dpkg --add-architecture "$arch" || return 1
        fi ;;
    esac
  done
}

# Installs the packages that are missing; retries while another dpkg holds the lock.
# --path-exclude: podman's package would drop 87-podman-bridge.conflist into /etc/cni/net.d, and
# nothing of ours may change the machine's CNI config.
install_debian_packages() {
  local missing attempt
  missing=$(missing_debian_packages "$@")
  [ -z "$missing" ] && return 0
  echo "installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3 4 5; do
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    if enable_foreign_architectures $missing && apt-get update -q >&2 && apt-get install -y -q --no-install-recommends \
        -o 'Dpkg::Options::=--path-exclude=/etc/cni' -o 'Dpkg::Options::=--path-exclude=/etc/cni/*' $missing >&2; then
      return 0
    fi
    sleep $((attempt * 5))
  done
  return 1
}

# npm ci when node_modules is missing or older than the lock file.
ensure_node_modules() {
  local repo=$1
  if [ ! -d "$repo/node_modules" ] || [ ! "$repo/node_modules/.package-lock.json" -nt "$repo/package-lock.json" ] \
      || [ "$repo/package.json" -nt "$repo/node_modules/.package-lock.json" ]; then
    echo "installing npm dependencies (npm ci)" >&2
    (cd "$repo" && npm ci --no-audit --no-fund >&2)
  fi
}

# npm run build when dist/bin is missing or older than a source.
ensure_built() {
  local repo=$1
  ensure_node_modules "$repo"
  local exe="$repo/dist/bin/cni-ts"
  if [ ! -x "$exe" ] || [ -n "$(cd "$repo" && find shared plugins ipam scripts/build.mjs scripts/lib/git-commit.mjs package-lock.json \
      -newer "$exe" \( -name '*.ts' -o -name '*.mjs' -o -name '*.json' \) ! -name '*.test.ts' -print -quit)" ]; then
    echo "building the plugins (npm run build)" >&2
    (cd "$repo" && npm run --silent build >&2)
  fi
}

ensure_prerequisites() {
  # shellcheck disable=SC2086
  install_debian_packages $DEMO_DEBIAN_PACKAGES
  ensure_built "$repo"
}
