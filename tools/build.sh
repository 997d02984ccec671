#!/usr/bin/env bash
# Builds the real opa, etcd, kube-apiserver and kubectl from the Go module proxy into a cache folder
# outside the work tree, keyed by the pinned versions. Does nothing when they are already built.
# Prints the bin directory on stdout (last line).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FARPOINT_CACHE:-$HOME/.cache/farpoint}
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOFLAGS=-mod=mod
k8s=$(awk '$1=="require" && $2=="k8s.io/kubernetes"{print $3}' "$here/kubernetes/go.mod")
etcd=$(awk '$1=="require" && $2=="go.etcd.io/etcd/server/v3"{print $3}' "$here/etcd/go.mod")
opa=$(awk '$1=="require" && $2=="github.com/open-policy-agent/opa"{print $3}' "$here/opa/go.mod")
bin=$cache/tools/k8s-$k8s.etcd-$etcd.opa-$opa
mkdir -p "$bin"

build() { # name module-dir package
  local name=$1 dir=$2 pkg=$3
  [ -x "$bin/$name" ] && return 0
  echo "building $name ($pkg) …" >&2
  local start=$SECONDS
  (cd "$here/$dir" && go build -trimpath -ldflags='-s -w' -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "built $name in $((SECONDS-start))s" >&2
}

# Use an opa already on PATH when it is the pinned version.
if [ ! -x "$bin/opa" ] && command -v opa >/dev/null && opa version 2>/dev/null | grep -q "^Version: ${opa#v}$"; then
  ln -sf "$(command -v opa)" "$bin/opa"
fi
build opa opa github.com/open-policy-agent/opa
build etcd etcd go.etcd.io/etcd/server/v3
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver
build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl
echo "$bin"
