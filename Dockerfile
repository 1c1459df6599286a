# syntax=docker/dockerfile:1

# One image for every module: which modules a container runs is configuration
# (UBERSERVICE_MODULES or --modules), never a different image.
#
#   docker build -t uberservice:dev .
#   docker run --rm -e UBERSERVICE_MODULES=accounts -e DATABASE_URL=postgres://... -p 8081:8081 uberservice:dev
#
# A container is always given DATABASE_URL: the embedded Postgres that `make run`
# falls back to is for laptops, not containers.
#
# There is no HEALTHCHECK: which port to probe depends on the module a container
# runs, and the image has no shell, curl or wget. Orchestrators probe the HTTP
# endpoints every module port serves instead: GET /healthz (alive) and GET /readyz
# (database up, migrations at head, consumers running), with their own HTTP probes
# (Kubernetes) or with `uberservice probe http://127.0.0.1:PORT/readyz` (Compose);
# see deploy/.
#
# There is no EXPOSE either, so that nothing here names a module: the ports a
# container serves on, its module's public and internal ones, are those its module
# is configured with, and the orchestrators declare them themselves, in the files
# `uberservice deploy` renders from the binary's modules (deploy/compose.yaml
# publishes the public port and keeps the internal one on its network, the
# Kubernetes manifests give both as containerPorts and Service ports).
#
# The tests in deploy/ (go test ./deploy/) hold this file to its invariants: the go
# build line is the Makefile's `build` target, and the final stage runs as non-root.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# The same command as `make build`, only the output path differs.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -o /out/uberservice ./cmd/uberservice

# Static binary on distroless: CA certificates, tzdata and /etc/passwd, nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/uberservice /uberservice
# The image's nonroot user (65532), by number: Kubernetes' runAsNonRoot can only
# verify a numeric user.
USER 65532:65532
ENTRYPOINT ["/uberservice"]
CMD ["run"]
