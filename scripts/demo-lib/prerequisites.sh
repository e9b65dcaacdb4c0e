# Sourced by scripts/demo: installs what a fresh Debian machine lacks, then builds if needed.
# Deliberately quiet when everything is already there.

# Debian packages the cluster sandbox uses: ip/bridge, iptables(-restore), nft (portmap), ping,
# Go + Debian's libcni source (the cnitool runtime), the reference plugins (comparison runs).
DEMO_DEBIAN_PACKAGES="iproute2 iptables nftables iputils-ping golang-go golang-github-appc-cni-dev containernetworking-plugins"

missing_debian_packages() {
  local p missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  echo "$missing"
}

install_debian_packages() {
  local missing
  missing=$(missing_debian_packages "$@")
  [ -z "$missing" ] && return 0
  echo "installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  apt-get install -y -q --no-install-recommends $missing >&2
}

# npm ci when node_modules is missing; npm run build when dist/bin is missing or older than a source.
ensure_built() {
  local repo=$1
  if [ ! -x "$repo/node_modules/.bin/bun" ] || [ ! -x "$repo/node_modules/.bin/esbuild" ]; then
    echo "installing npm dependencies (npm ci)" >&2
    (cd "$repo" && npm ci --no-audit --no-fund >&2)
  fi
  local exe="$repo/dist/bin/cni-ts"
  if [ ! -x "$exe" ] || [ -n "$(cd "$repo" && find shared plugins ipam scripts/build.mjs package-lock.json \
      -newer "$exe" \( -name '*.ts' -o -name '*.mjs' -o -name '*.json' \) ! -name '*.test.ts' -print -quit)" ]; then
    echo "building the plugins (npm run build)" >&2
    (cd "$repo" && npm run --silent build >&2)
  fi
}

ensure_prerequisites() {
  install_debian_packages $DEMO_DEBIAN_PACKAGES
  ensure_built "$repo"
}
