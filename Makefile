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
