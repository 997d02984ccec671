#!/usr/bin/env bash
# Builds the real opa, etcd, kube-apiserver, kube-controller-manager and kubectl from the Go module proxy
# into a cache folder outside the work tree, keyed by the pinned versions. Does nothing when they are
# already built; builds only the missing ones otherwise (a folder from before a binary was added gets
# just that binary).
# Prints the bin directory on stdout (last line); progress goes to stderr.
# Concurrent runs (two test runners, a dev script) wait for each other instead of building twice.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${FARPOINT_CACHE:-$HOME/.cache/farpoint}
export GOMODCACHE=$cache/go/mod GOCACHE=$cache/go/build GOFLAGS=-mod=mod
k8s=$(awk '$1=="require" && $2=="k8s.io/kubernetes"{print $3}' "$here/kubernetes/go.mod")
etcd=$(awk '$1=="require" && $2=="go.etcd.io/etcd/server/v3"{print $3}' "$here/etcd/go.mod")
opa=$(awk '$1=="require" && $2=="github.com/open-policy-agent/opa"{print $3}' "$here/opa/go.mod")
# r2: Kubernetes and etcd binaries carry their release version (ldflags below), as released ones do.
# The suffix changes only when the way a binary is built changes. Adding a binary (kube-controller-manager
# came after r2) needs none: the binaries already in an r2 folder are still right, and build() skips them.
bin=$cache/tools/k8s-$k8s.etcd-$etcd.opa-$opa.r2
names=(opa etcd kube-apiserver kube-controller-manager kubectl)

all_built() { for n in "${names[@]}"; do [ -x "$bin/$n" ] || return 1; done; }
if all_built; then echo "$bin"; exit 0; fi

command -v go >/dev/null || { echo "tools/build.sh: the go command is needed to build ${names[*]} (or set FARPOINT_TOOLS_BIN)" >&2; exit 1; }
mkdir -p "$bin"
exec 9>"$bin.lock"
if ! flock -n 9; then
  echo "another tools/build.sh is building into $bin; waiting for it …" >&2
  flock 9
fi
if all_built; then echo "$bin"; exit 0; fi

# What Kubernetes' own release build (hack/lib/version.sh) stamps in; without it the apiserver reports
# v0.0.0-master, which version-parsing clients (and our inventory code) would trip over.
minor=${k8s#v1.}; minor=${minor%%.*}
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
etcd_ldflags=" -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd"

build() { # name module-dir package [extra ldflags]
  local name=$1 dir=$2 pkg=$3 extra=${4:-}
  [ -x "$bin/$name" ] && return 0
  echo "building $name ($pkg) …" >&2
  local start=$SECONDS
  (cd "$here/$dir" && go build -trimpath -ldflags="-s -w$extra" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "built $name in $((SECONDS-start))s" >&2
}

total=$SECONDS
echo "building the test tools into $bin (first time: about 10 minutes and 5 GiB of module/build cache on 2 cores) …" >&2
# Use an opa already on PATH when it is the pinned version.
if [ ! -x "$bin/opa" ] && command -v opa >/dev/null && opa version 2>/dev/null | grep -q "^Version: ${opa#v}$"; then
  ln -sf "$(command -v opa)" "$bin/opa"
fi
build opa opa github.com/open-policy-agent/opa
build etcd etcd go.etcd.io/etcd/server/v3 "$etcd_ldflags"
build kube-apiserver kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube-controller-manager kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build kubectl kubernetes k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
echo "tools ready in $((SECONDS-total))s" >&2
echo "$bin"
