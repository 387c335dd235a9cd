# syntax=docker/dockerfile:1
# cdc-sentinel container image: a static binary on distroless, run as the
# distroless "nonroot" user (65532). Build with `make docker`.

# ---- build ----------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that code changes do not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_DATE=unknown
# CGO off: the pgx and go-mssqldb drivers are pure Go, and a static binary
# needs no libc in the runtime image.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=docker \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/cdc-sentinel ./cmd/cdc-sentinel \
 && mkdir -p /out/data

# ---- runtime --------------------------------------------------------------
# distroless/static carries CA certificates and tzdata (Connect, Vault and
# database TLS need the former) and nothing else: no shell, no package
# manager.
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="cdc-sentinel" \
      org.opencontainers.image.description="Watches and heals a Debezium CDC pipeline: Prometheus exporter, Alertmanager webhook remediator, connector operations" \
      org.opencontainers.image.source="https://github.com/cdc-sentinel/cdc-sentinel"
COPY --from=build /out/cdc-sentinel /bin/cdc-sentinel
# --storage.path (remediation episodes, audit log); mount a volume here.
COPY --from=build --chown=65532:65532 /out/data /var/lib/cdc-sentinel
USER 65532:65532
WORKDIR /var/lib/cdc-sentinel
EXPOSE 19641
VOLUME ["/var/lib/cdc-sentinel"]
ENTRYPOINT ["/bin/cdc-sentinel"]
CMD ["--config.file=/etc/cdc-sentinel/cdc-sentinel.yml", "--storage.path=/var/lib/cdc-sentinel"]
