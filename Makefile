# cdc-sentinel. `make demo` and `make test` do all set-up on a fresh machine.
GO        ?= go
BIN       ?= bin/cdc-sentinel
CACHE     ?= $(HOME)/.cache/cdc-sentinel
PIPELINE  := scripts/pipeline/pipeline.sh
TOOLS     := scripts/install-tools.sh
VERSION   ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X github.com/prometheus/common/version.Version=$(VERSION) \
             -X github.com/prometheus/common/version.Revision=$(REVISION) \
             -X github.com/prometheus/common/version.Branch=$(BRANCH) \
             -X github.com/prometheus/common/version.BuildUser=$(shell whoami)@$(shell hostname) \
             -X github.com/prometheus/common/version.BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)
DEMO_ADDR ?= 127.0.0.1:19641
# Integration packages share one pipeline; -p 1 keeps one package's
# worker restarts from disturbing another's assertions.
TEST_FLAGS ?= -race -count=1 -p 1 -timeout 40m

.PHONY: all build test unit fuzz reliability demo demo-down lint analyse tools pipeline crossbuild docker bench generate check-generated

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cdc-sentinel

tools:
	$(TOOLS) promtool prometheus alertmanager jaeger chromium

pipeline:
	$(PIPELINE) install
	$(PIPELINE) up

# Every test, integration ones included, against the real local pipeline
# and the real promtool, Prometheus and Alertmanager; then the analysers
# (CI runs this target).
test: tools pipeline
	CDC_INTEGRATION=1 $(GO) test $(TEST_FLAGS) ./...
	$(MAKE) analyse

# Unit tests only: pointing the tests at no pipeline makes the
# integration tests skip, even when one is running.
unit:
	CDC_PIPELINE_DIR=/nonexistent CDC_CONNECT_URL= CDC_SOURCE_DSN= $(GO) test -race -count=1 ./...

# Every fuzz target for FUZZTIME each (their seed corpora already run in
# `make test` and `make unit`).
FUZZTIME ?= 10s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# The fault-injection suite (reliability/): Toxiproxy between cdc-sentinel
# and Connect, PostgreSQL and Kafka; kill -9 during remediation; load and
# soak. Brings the local pipeline up (its Kafka has the fault-injection
# listener) and runs against it; RELIABILITY_PRIVATE=1 runs on a private
# PostgreSQL and a stand-in Connect worker instead, without Kafka.
# Writes its figures to RELIABILITY_REPORT.
RELIABILITY_REPORT ?= $(CURDIR)/reliability/last-run.md
reliability:
	$(TOOLS) toxiproxy
	[ -n "$(RELIABILITY_PRIVATE)" ] || $(MAKE) pipeline
	RELIABILITY_REPORT=$(RELIABILITY_REPORT) $(GO) test -tags reliability -count=1 -v -timeout 90m ./reliability/

demo: build tools pipeline
	scripts/demo.sh $(BIN) $(DEMO_ADDR)

demo-down:
	-pkill -f "$(BIN) .*--web.listen-address=$(DEMO_ADDR)" || true
	-pkill -f "bin/prometheus --config.file=deploy/prometheus/prometheus.yml" || true
	-pkill -f "bin/alertmanager --config.file=deploy/alertmanager/alertmanager.yml" || true
	-pkill -f "bin/jaeger --config deploy/demo/jaeger.yml" || true
	$(PIPELINE) down

# The analysers `make test` (so CI) and `make lint` run: deadcode and
# staticcheck print nothing (reliability-tagged code included), and no
# function outside tests and benchmarks (bench/) is above cyclomatic
# complexity 20.
DEADCODE    := golang.org/x/tools/cmd/deadcode@v0.52.0
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOCYCLO     := github.com/fzipp/gocyclo/cmd/gocyclo@v0.6.0
analyse:
	@out=$$($(GO) run $(DEADCODE) -test -tags reliability ./...); if [ -n "$$out" ]; then echo "$$out"; echo "deadcode: unreachable functions"; exit 1; fi
	$(GO) run $(STATICCHECK) -tags reliability ./...
	$(GO) run $(GOCYCLO) -over 20 -ignore '_test\.go$$|^bench/' .

lint: analyse
	$(TOOLS) golangci-lint
	$(CACHE)/bin/golangci-lint run ./...

# Regenerates what is generated: the metrics reference from the code, and
# rules/, dashboards/ and deploy/kubernetes/prometheusrule.yaml from the
# monitoring mixin (mixin/, jsonnet, evaluated by go-jsonnet). Tests fail
# when a generated file is stale.
generate:
	$(GO) run ./internal/metricsdoc/gen
	$(GO) run ./tools/mixin

crossbuild:
	@for p in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  echo "building $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
	    -o .build/$$os-$$arch/cdc-sentinel$$ext ./cmd/cdc-sentinel || exit 1; \
	done

docker:
	docker build -t cdc-sentinel:$(VERSION) \
	  --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg BRANCH=$(BRANCH) \
	  --build-arg BUILD_DATE=$(shell date -u +%Y%m%d-%H:%M:%S) .

check-generated:
	$(GO) test -count=1 -run 'TestGeneratedFilesAreCurrent|TestPrometheusRuleIsUpToDate' ./internal/mixin/ ./deploy/
