#!/usr/bin/env bash
# Tools the tests and the local stack need besides Python packages and the Kafka/MongoDB servers:
#   - Debian packages: chromium (warehouse pages in a real browser), prometheus (promtool for the
#     alert-rule tests; the local Prometheus), prometheus-alertmanager (the local Alertmanager), fonts-dejavu-core (Cyrillic fonts in PDF documents);
#   - stripe-mock (Stripe's API mock, built with `go install`), cached by version outside the repo.
# Idempotent: a warm machine installs nothing. Usage: deploy/local/tools.sh install | env
set -euo pipefail

OMS_CACHE_DIR="${OMS_CACHE_DIR:-$HOME/.cache/oms}"
STRIPE_MOCK_VERSION="${STRIPE_MOCK_VERSION:-v0.203.0}"
STRIPE_MOCK_HOME="$OMS_CACHE_DIR/tools/stripe-mock-$STRIPE_MOCK_VERSION"
DEBIAN_PACKAGES=(chromium prometheus prometheus-alertmanager fonts-dejavu-core)

log() { printf 'tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"
    else die "need root (or password-less sudo) to install Debian packages: $*"
    fi
}

install_debian_packages() {
    local missing=() pkg
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && { log "debian packages present: ${DEBIAN_PACKAGES[*]}"; return; }
    command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by other means"
    log "installing debian packages: ${missing[*]}"
    # A fresh image may have no package lists; an install that fails for stale lists retries after update.
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
        as_root apt-get update -q >/dev/null
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

install_stripe_mock() {
    [[ -x "$STRIPE_MOCK_HOME/bin/stripe-mock" ]] && { log "cached: $STRIPE_MOCK_HOME"; return; }
    command -v go >/dev/null || die "go not found (needed to build stripe-mock)"
    log "building stripe-mock $STRIPE_MOCK_VERSION"
    local tmp="$STRIPE_MOCK_HOME.tmp.$$"
    mkdir -p "$tmp/bin"
    GOBIN="$tmp/bin" GOFLAGS=-mod=mod go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" \
        || { rm -rf "$tmp"; die "go install stripe-mock failed"; }
    mv -T "$tmp" "$STRIPE_MOCK_HOME" 2>/dev/null || rm -rf "$tmp"   # a concurrent install may have won
}

cmd_env() {  # where the tools are, for tests and scripts
    printf 'export OMS_STRIPE_MOCK_BIN=%q\n' "$STRIPE_MOCK_HOME/bin/stripe-mock"
    printf 'export OMS_CHROMIUM_BIN=%q\n' "$(command -v chromium || echo /usr/bin/chromium)"
    printf 'export OMS_PROMTOOL_BIN=%q\n' "$(command -v promtool || echo /usr/bin/promtool)"
    printf 'export OMS_PROMETHEUS_BIN=%q\n' "$(command -v prometheus || echo /usr/bin/prometheus)"
    printf 'export OMS_ALERTMANAGER_BIN=%q\n' "$(command -v prometheus-alertmanager || echo /usr/bin/prometheus-alertmanager)"
}

case "${1:-install}" in
    install) install_debian_packages; install_stripe_mock ;;
    env) cmd_env ;;
    *) die "usage: $0 install|env" ;;
esac
