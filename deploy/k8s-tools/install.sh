#!/usr/bin/env bash
# Installs the chart tools (helm, kubeconform) with `go install`, into the OMS cache keyed by
# version, and generates kubeconform's offline JSON schemas. Skips whatever is already there.
#
#   bash deploy/k8s-tools/install.sh          # installs; prints nothing else when warm
#   bash deploy/k8s-tools/install.sh --print  # prints KEY=path lines (used by deploy/charts.mk)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.19.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
# prometheus-operator's Go module ships its CRDs (example/prometheus-operator-crd/); schemas for
# ServiceMonitor and PrometheusRule are generated from them.
PROMOP_VERSION="${PROMOP_VERSION:-v0.85.0}"
SCHEMAS_VERSION="2"   # bump when gen_schemas.py changes what it writes

CACHE="${OMS_CACHE_DIR:-$HOME/.cache/oms}"
TOOLS="$CACHE/tools"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HELM_DIR="$TOOLS/helm-$HELM_VERSION"
KC_DIR="$TOOLS/kubeconform-$KUBECONFORM_VERSION"
K8S_VERSION_OF_SCHEMAS_FILE="$HELM_DIR/.client-go"   # which client-go helm was built with
SCHEMA_ROOT="$TOOLS/kube-schemas"

# Go's caches live with the rest of the OMS cache unless the caller set them.
export GOMODCACHE="${GOMODCACHE:-$CACHE/go/mod}"
export GOCACHE="${GOCACHE:-$CACHE/go/build}"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export GOTOOLCHAIN=local
export CGO_ENABLED=0

log() { echo "k8s-tools: $*" >&2; }

go_install() { # dir, package@version
  local dir="$1" pkg="$2"
  if GOBIN="$dir/bin.tmp" go install "$pkg" 2>"$dir.err"; then :; else
    if grep -qiE 'sum\.golang\.org|checksum database|verifying module' "$dir.err"; then
      log "checksum lookup refused for $pkg; retrying with GOSUMDB=off for it"
      GOSUMDB=off GOBIN="$dir/bin.tmp" go install "$pkg"
    else
      cat "$dir.err" >&2; return 1
    fi
  fi
  rm -f "$dir.err"
  mv "$dir/bin.tmp" "$dir/bin"
}

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }

if [[ ! -x "$HELM_DIR/bin/helm" ]]; then
  log "building helm $HELM_VERSION (go install, first time only)"
  rm -rf "$HELM_DIR"; mkdir -p "$HELM_DIR"
  go_install "$HELM_DIR" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
if [[ ! -x "$KC_DIR/bin/kubeconform" ]]; then
  log "building kubeconform $KUBECONFORM_VERSION (go install, first time only)"
  rm -rf "$KC_DIR"; mkdir -p "$KC_DIR"
  go_install "$KC_DIR" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi

# The client-go helm was built with carries the Kubernetes API's typed schema
# (applyconfigurations/internal/internal.go): core schemas are generated from it.
CLIENT_GO_VERSION="$(go version -m "$HELM_DIR/bin/helm" | awk '$2=="k8s.io/client-go"{print $3; exit}')"
SCHEMA_DIR="$SCHEMA_ROOT/client-go-$CLIENT_GO_VERSION-promop-$PROMOP_VERSION-s$SCHEMAS_VERSION"
if [[ ! -f "$SCHEMA_DIR/.complete" ]]; then
  log "generating kubeconform schemas (client-go $CLIENT_GO_VERSION, prometheus-operator $PROMOP_VERSION)"
  client_go_dir="$(go mod download -json "k8s.io/client-go@$CLIENT_GO_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  crd_args=()
  if promop_json="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMOP_VERSION" 2>/dev/null)"; then
    promop_dir="$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("Dir",""))' <<<"$promop_json")"
    for crd in servicemonitors prometheusrules; do
      f="$promop_dir/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml"
      [[ -f "$f" ]] && crd_args+=(--crd "$f")
    done
  else
    log "prometheus-operator $PROMOP_VERSION not served: ServiceMonitor/PrometheusRule get no schema"
  fi
  rm -rf "$SCHEMA_DIR.tmp"; mkdir -p "$SCHEMA_DIR.tmp"
  "${PY:-python3}" "$HERE/gen_schemas.py" --client-go "$client_go_dir" "${crd_args[@]}" --out "$SCHEMA_DIR.tmp"
  touch "$SCHEMA_DIR.tmp/.complete"
  rm -rf "$SCHEMA_DIR"; mv "$SCHEMA_DIR.tmp" "$SCHEMA_DIR"
fi

if [[ "${1:-}" == "--print" ]]; then
  echo "HELM=$HELM_DIR/bin/helm"
  echo "KUBECONFORM=$KC_DIR/bin/kubeconform"
  echo "KUBE_SCHEMAS=$SCHEMA_DIR"
fi
