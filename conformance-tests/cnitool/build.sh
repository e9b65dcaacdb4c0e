#!/bin/bash
# Builds the harness's libcni client against Debian's libcni source (golang-github-appc-cni-dev),
# in GOPATH mode because Go modules cannot be downloaded here. Writes a temp file and renames it,
# so concurrent builds (parallel test files) never see a half-written binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export GOPATH=/usr/share/gocode GO111MODULE=off
export GOCACHE=${GOCACHE:-$repo/.tmp/go-build}
mkdir -p "$GOCACHE"
tmp="$here/cnitool.tmp-$$"
trap 'rm -f "$tmp"' EXIT
cd "$here"
go build -o "$tmp" .
mv -f "$tmp" "$here/cnitool"
