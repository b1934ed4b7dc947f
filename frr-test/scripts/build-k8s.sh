#!/usr/bin/env bash
# Builds the pinned Kubernetes control-plane binaries from the Go module proxy
# into a cache outside the repository, keyed by version. Idempotent: a warm cache
# returns at once. k8s.io/kubernetes requires its staging modules at v0.0.0, so a
# wrapper module replaces each of them with the published v0.X.Y tag.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.34.3}
CACHE=${VIPGRESS_CACHE:-/var/cache/vipgress}
OUT="$CACHE/k8s-$K8S_VERSION"
BINS=(kube-apiserver kube-controller-manager kube-proxy kubectl)

have_all() { for b in "${BINS[@]}"; do [ -x "$OUT/bin/$b" ] || return 1; done; }
if have_all; then echo "$OUT/bin"; exit 0; fi

command -v go >/dev/null || { echo "build-k8s: 'go' not found; install Go >= 1.24 (https://go.dev/dl) to build Kubernetes $K8S_VERSION" >&2; exit 1; }
command -v jq >/dev/null || { echo "build-k8s: 'jq' not found; apt-get install jq" >&2; exit 1; }

mkdir -p "$OUT/src" "$OUT/bin"
export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/pkg/mod" GOCACHE="$CACHE/go-build" GOFLAGS=-mod=mod CGO_ENABLED=0
staging=${K8S_VERSION/v1./v0.}
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
{
  echo "module vipgress.dev/labk8s"
  grep -E '^(go|godebug) ' "$gomod"
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo "replace ("
  sed -n "s#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 $staging#p" "$gomod"
  echo ")"
} > "$OUT/src/go.mod"
cat > "$OUT/src/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
cd "$OUT/src"
go mod tidy -e >/dev/null 2>&1 || true
go mod download
major=${K8S_VERSION#v}; minor=${major#*.}; minor=${minor%%.*}; major=${major%%.*}
LD="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
for b in "${BINS[@]}"; do
  if [ ! -x "$OUT/bin/$b" ]; then
    echo "build-k8s: building $b $K8S_VERSION (first build takes minutes)" >&2
    go build -tags tools -ldflags "$LD" -o "$OUT/bin/$b.tmp" "k8s.io/kubernetes/cmd/$b"
    mv "$OUT/bin/$b.tmp" "$OUT/bin/$b"
  fi
done
echo "$OUT/bin"
