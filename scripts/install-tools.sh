#!/usr/bin/env bash
# Builds the Prometheus server, promtool and Alertmanager from the Go module
# proxy into a cache outside the repository, so reruns cost nothing.
# Usage: scripts/install-tools.sh [prometheus|promtool|alertmanager|jaeger|golangci-lint|toxiproxy|chromium ...]
set -euo pipefail

PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}
ALERTMANAGER_VERSION=${ALERTMANAGER_VERSION:-v0.35.0}
GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-v2.15.0}
# @latest resolves to an old v2.5.0 on some proxies: pin the version.
TOXIPROXY_VERSION=${TOXIPROXY_VERSION:-v2.12.0}
# The jaeger module v1.76.0 is Jaeger v2.13 (the v2 binary ships from the v1 module path).
JAEGER_VERSION=${JAEGER_VERSION:-v1.76.0}
CACHE=${CDC_SENTINEL_CACHE:-$HOME/.cache/cdc-sentinel}
BIN="$CACHE/bin"
mkdir -p "$BIN"

log() { printf 'install-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# stamp files record the version a cached binary was built from.
fresh() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$BIN/.$1.version"; }

build_prometheus() {
  local tool=$1
  fresh "$tool" "$PROMETHEUS_VERSION" && return 0
  log "building $tool $PROMETHEUS_VERSION from the Go module proxy (takes minutes once)"
  GOBIN="$BIN" go install "github.com/prometheus/prometheus/cmd/$tool@$PROMETHEUS_VERSION" \
    || die "go install of $tool $PROMETHEUS_VERSION failed"
  stamp "$tool" "$PROMETHEUS_VERSION"
}

# copy_module MODULE VERSION WORK NAME: a writable copy of MODULE@VERSION
# from the module proxy at WORK/NAME, for the modules `go install` cannot
# build as published (UI assets left out, a replace directive). WORK is a
# scratch directory the caller removes.
copy_module() {
  local module=$1 version=$2 work=$3 name=$4 src
  ( cd "$work" && go mod init tmp >/dev/null 2>&1 \
      && GOFLAGS=-mod=mod go mod download "$module@$version" ) \
    || die "downloading $module $version failed"
  src=$(cd "$work" && go mod download -json "$module@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$src" ] || die "$module $version: module directory not found"
  cp -r "$src" "$work/$name" && chmod -R u+w "$work/$name"
}

build_alertmanager() {
  fresh alertmanager "$ALERTMANAGER_VERSION" && return 0
  log "building alertmanager $ALERTMANAGER_VERSION (web UI replaced by a placeholder)"
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  copy_module github.com/prometheus/alertmanager "$ALERTMANAGER_VERSION" "$work" am
  # The UI assets are not published in the module; the API does not need them.
  mkdir -p "$work/am/ui/app/dist"
  echo '<!doctype html><title>Alertmanager</title>' > "$work/am/ui/app/dist/index.html"
  ( cd "$work/am" && go build -o "$BIN/alertmanager" ./cmd/alertmanager ) \
    || die "building alertmanager failed"
  stamp alertmanager "$ALERTMANAGER_VERSION"
}

build_jaeger() {
  fresh jaeger "$JAEGER_VERSION" && return 0
  log "building jaeger $JAEGER_VERSION (Jaeger v2, in-memory storage; takes minutes once)"
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  # Its go.mod carries a replace directive, so `go install` refuses it:
  # build from a writable copy instead.
  copy_module github.com/jaegertracing/jaeger "$JAEGER_VERSION" "$work" jaeger
  ( cd "$work/jaeger" && go mod download && go build -o "$BIN/jaeger" ./cmd/jaeger ) \
    || die "building jaeger failed"
  stamp jaeger "$JAEGER_VERSION"
}

build_golangci_lint() {
  fresh golangci-lint "$GOLANGCI_LINT_VERSION" && return 0
  log "building golangci-lint $GOLANGCI_LINT_VERSION"
  GOBIN="$BIN" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION" \
    || die "go install of golangci-lint failed"
  stamp golangci-lint "$GOLANGCI_LINT_VERSION"
}

# Toxiproxy (TCP fault injection) for `make reliability`: its server and
# CLI, installed as toxiproxy-server and toxiproxy-cli.
build_toxiproxy() {
  fresh toxiproxy-server "$TOXIPROXY_VERSION" && fresh toxiproxy-cli "$TOXIPROXY_VERSION" && return 0
  log "building toxiproxy $TOXIPROXY_VERSION"
  local work; work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  GOBIN="$work" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" \
    "github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION" \
    || die "go install of toxiproxy $TOXIPROXY_VERSION failed"
  mv "$work/server" "$BIN/toxiproxy-server" && mv "$work/cli" "$BIN/toxiproxy-cli"
  stamp toxiproxy-server "$TOXIPROXY_VERSION"
  stamp toxiproxy-cli "$TOXIPROXY_VERSION"
}

# chromium is Debian's package (the landing page's browser test renders in
# it headless); it is installed as root, or its test skips where it cannot be.
install_chromium() {
  command -v chromium >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    log "chromium is not installed and this is not root: the landing page's browser test will skip"
    return 0
  fi
  log "installing chromium from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(promtool prometheus alertmanager)
for t in "${tools[@]}"; do
  case "$t" in
    prometheus|promtool) build_prometheus "$t" ;;
    alertmanager) build_alertmanager ;;
    jaeger) build_jaeger ;;
    golangci-lint) build_golangci_lint ;;
    toxiproxy) build_toxiproxy ;;
    chromium) install_chromium ;;
    *) die "unknown tool $t (want prometheus, promtool, alertmanager, jaeger, golangci-lint, toxiproxy or chromium)" ;;
  esac
done
echo "$BIN"
