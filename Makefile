# uberservice: `make run` starts every module in one process; `make test` runs every test.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 20m

.PHONY: run test build vet fmt-check tidy-check

## run: start every module in one process (local Postgres on 127.0.0.1:5432, else an embedded one)
run:
	$(GO) run ./cmd/uberservice $(ARGS)

## test: formatting, vet, the module-boundary test and every test against real Postgres
test: fmt-check vet
	$(GO) test -count=1 -timeout $(TIMEOUT) $(PKGS)

## build: the binary, in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/uberservice ./cmd/uberservice

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# The deployment tools, pinned; `go run` fetches them through the module proxy
# without touching go.mod. kubectl-validate carries the schemas of Kubernetes up
# to 1.30; KUBECONFIG=/dev/null keeps it from asking a cluster instead.
KUSTOMIZE        ?= $(GO) run sigs.k8s.io/kustomize/kustomize/v5@v5.8.2
KUBECTL_VALIDATE ?= KUBECONFIG=/dev/null $(GO) run sigs.k8s.io/kubectl-validate@v0.0.4
COMPOSE_SPEC     ?= $(GO) run github.com/compose-spec/compose-go/v2/cmd@v2.16.2
K8S_VERSION      ?= 1.30

.PHONY: deploy deploy-check

## deploy: render deploy/compose.yaml, deploy/k8s and deploy/brokers from the binary's modules
## (`uberservice deploy`); commit the result. go test ./deploy/ fails when they drift.
deploy:
	$(GO) run ./cmd/uberservice deploy compose --out deploy
	$(GO) run ./cmd/uberservice deploy kubernetes --out deploy
	$(GO) run ./cmd/uberservice deploy brokers --out deploy

## deploy-check: the Dockerfile and deploy/ against the binary's modules and what `make deploy`
## renders (go test ./deploy/, also part of make test), then the manifests built by kustomize and
## validated against the Kubernetes and Compose schemas. Needs neither Docker nor a cluster.
deploy-check:
	$(GO) vet ./deploy/
	$(GO) test -count=1 ./deploy/
	@set -e; out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	echo "kustomize build deploy/k8s/base, deploy/k8s/migrate"; \
	$(KUSTOMIZE) build deploy/k8s/base > "$$out/base.yaml"; \
	$(KUSTOMIZE) build deploy/k8s/migrate > "$$out/migrate.yaml"; \
	echo "kubectl-validate --version $(K8S_VERSION)"; \
	$(KUBECTL_VALIDATE) --version $(K8S_VERSION) "$$out/base.yaml" "$$out/migrate.yaml" deploy/k8s/database-secret.example.yaml deploy/k8s/module-secrets.example.yaml deploy/k8s/keys-secrets.example.yaml; \
	echo; echo "compose-spec deploy/compose.yaml"; \
	cd deploy && $(COMPOSE_SPEC) compose.yaml > /dev/null

.PHONY: docs

## docs: render docs/modules.md, the module map and what every module, topic and gateway is, from
## the binary's modules (`uberservice modules --format markdown`); commit the result.
## go test ./docs/ fails when it drifts.
docs:
	$(GO) run ./cmd/uberservice modules --format markdown > docs/modules.md.new && mv docs/modules.md.new docs/modules.md

# The benchmarks (bench/, see BENCHMARKS.md): the real binary against the Postgres,
# NATS and RabbitMQ of this machine, with pgbench for the database's own ceiling.
# BENCH_ARGS passes flags, e.g. BENCH_ARGS="-only deposits,events".
.PHONY: bench bench-smoke

## bench: every scenario, several runs each (about 10 minutes on 2 cores); writes BENCHMARKS.md
## and bench/results.json. Fails only when a scenario errors: targets are reported, not asserted.
## Scenarios 3b and 6 also measure the binary of BENCH_BEFORE (a git revision, built the same
## way), interleaved with the current one; BENCH_BEFORE= leaves it out.
BENCH_BEFORE ?= b8b0945
bench:
	$(GO) run ./bench -out bench -report BENCHMARKS.md $(if $(BENCH_BEFORE),-before $(BENCH_BEFORE)) $(BENCH_ARGS)

## bench-smoke: every scenario, short and once (a minute or two), into a temporary folder; prints
## the report and fails loudly when any scenario errors. What CI runs.
bench-smoke:
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; status=0; \
	$(GO) run ./bench -smoke -out "$$out" -report "$$out/BENCHMARKS.md" $(BENCH_ARGS) || status=$$?; \
	if [ -f "$$out/BENCHMARKS.md" ]; then cat "$$out/BENCHMARKS.md"; fi; \
	if [ $$status -ne 0 ]; then echo "bench-smoke: FAILED (exit $$status): a scenario did not run to the end; see above" >&2; fi; \
	exit $$status

# The micro-benchmarks (go test -bench): the hot paths one at a time, in process.
# The outbox ones need the Postgres that make test needs.
.PHONY: microbench

## microbench: the benchmarks of the gateway codec, a gateway call local vs over HTTP, and the
## outbox (Publish, relay throughput); under a minute. MICROBENCH_ARGS passes flags, e.g. -count 5.
microbench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(MICROBENCH_ARGS) ./gateway/... ./platform/...

.PHONY: contracts

## contracts: write contracts/, the JSON Schemas of every event payload and gateway request and
## response, from the Go types (`uberservice contracts`); commit the result. go test ./contracts/
## fails when it drifts, and says whether the change breaks the other side of a contract.
contracts:
	$(GO) run ./cmd/uberservice contracts --out contracts
