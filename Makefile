# Gantry — the front door. `make` (or `make help`) lists the targets.
#
# Every Go module listed in go.work is treated the same way: test, vet and tidy
# loop over them. Binaries are discovered, not listed: every services/*/cmd/*
# directory holding a main package is built into bin/<dirname>.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

export PATH := /usr/local/go/bin:$(PATH)

GO ?= go

#> TESTFLAGS: extra flags for every `go test` run, e.g. TESTFLAGS="-v -race"
TESTFLAGS ?=
#> TEST_TIMEOUT: per-package `go test -timeout` (default 30m)
TEST_TIMEOUT ?= 30m
#> FUZZTIME: go test -fuzztime of each fuzz target in `make test` / `make fuzz` (default 20000x inputs)
# A count, not a duration: Go 1.26's fuzzing coordinator can fail a run that
# ends on a duration with "context deadline exceeded" and no failing input
# (golang/go#75804).
FUZZTIME ?= 20000x
#> BENCH_ARGS: flags passed to the benchmark programs, e.g. BENCH_ARGS="-h"
BENCH_ARGS ?=

BIN_DIR   := $(CURDIR)/bin
TOOLS_BIN := $(CURDIR)/.tools/bin

# Tests that start daemons find the freshly built binaries here.
export GANTRY_BIN_DIR := $(BIN_DIR)

PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1

# Modules: the `use` directives of go.work; without a go.work, every go.mod
# outside bin/, hidden, testdata and vendor directories.
define _GOWORK_USE_AWK
{ sub(/\/\/.*/, ""); gsub(/"/, "") }
$$1 == "use" && $$2 ~ /^\(/ { inuse = 1; next }
inuse && $$1 ~ /^\)/ { inuse = 0; next }
inuse && NF { print $$1; next }
$$1 == "use" && NF > 1 { print $$2 }
endef
ifneq ($(wildcard go.work),)
_MODULES := $(shell awk '$(_GOWORK_USE_AWK)' go.work)
else
_MODULES := $(shell find . -mindepth 1 \( -name '.*' -o -path ./bin -o -name testdata -o -name vendor \) -prune \
	-o -name go.mod -printf '%h\n')
endif
_MODULES := $(patsubst %/,%,$(patsubst ./%,%,$(_MODULES)))

# Order: contracts and shared code first, then services, integration last.
MODULES := $(filter proto,$(_MODULES)) $(filter libs,$(_MODULES)) \
	$(sort $(filter services/%,$(_MODULES))) \
	$(filter-out proto libs services/% integration,$(_MODULES)) \
	$(filter integration,$(_MODULES))
UNIT_MODULES := $(filter-out integration,$(MODULES))

# Binaries: services/<svc>/cmd/<name> directories with a non-test file in package main.
_CMD_GO_FILES := $(filter-out %_test.go,$(wildcard services/*/cmd/*/*.go))
CMD_DIRS := $(sort $(patsubst %/,%,$(dir $(if $(_CMD_GO_FILES),\
	$(shell grep -lE '^package main([[:space:]]|$$)' $(_CMD_GO_FILES))))))

# $(call foreach_module,MODULES,LABEL,COMMAND): run COMMAND inside each module
# with a banner; modules without Go packages yet are skipped; stops at the first
# failure.
define foreach_module
for mod in $(1); do \
	printf '\n==> %s: %s\n' "$$mod" "$(2)"; \
	out=$$(cd "$$mod" && $(GO) list ./... 2>&1) || { printf '%s\n' "$$out" >&2; exit 1; }; \
	if [[ "$$out" == *'"./..." matched no packages'* ]]; then echo "    no Go packages yet, skipping"; continue; fi; \
	(cd "$$mod" && $(3)); \
done
endef

# The proxy's end-to-end tests once more, with gantry-proxy in nftables
# mode (the run above uses the default iptables mode).
define run_proxy_nftables
printf '\n==> integration: GANTRY_PROXY_MODE=nftables go test ./proxy/\n'; \
cd integration && GANTRY_PROXY_MODE=nftables $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./proxy/
endef

# Every `func FuzzXxx` in a *_test.go file of a module, each run on its own
# (`go test -fuzz` accepts one target per run).
define run_fuzz
rc=0; files=$$(grep -rl --include='*_test.go' --exclude-dir='.*' --exclude-dir=testdata --exclude-dir=vendor \
	'^func Fuzz' $(MODULES)) || rc=$$?; \
if (( rc > 1 )); then exit "$$rc"; fi; \
if [[ -z "$$files" ]]; then printf '\n==> fuzz: no fuzz targets yet\n'; exit 0; fi; \
for dir in $$(dirname $$files | sort -u); do \
	for name in $$(sed -nE 's/^func (Fuzz[[:alnum:]_]*)\(.*/\1/p' "$$dir"/*_test.go | sort -u); do \
		printf '\n==> %s: fuzz %s, -fuzztime=%s\n' "$$dir" "$$name" "$(FUZZTIME)"; \
		(cd "$$dir" && $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $(TESTFLAGS) .); \
	done; \
done
endef

##@ General

.PHONY: help
help: ## Show this help (default goal)
	@awk 'BEGIN { FS = ":.*## "; printf "Usage: make <target> [VAR=value ...]\n" } \
		/^##@/ { printf "\n%s\n", substr($$0, 5); next } \
		/^[a-zA-Z0-9_.-]+:.*## / { printf "  %-18s %s\n", $$1, $$2; next } \
		/^#> / { sub(/^#> /, ""); i = index($$0, ": "); \
			vars[++n] = sprintf("  %-18s %s", substr($$0, 1, i - 1), substr($$0, i + 2)) } \
		END { if (n) { printf "\nVariables\n"; for (j = 1; j <= n; j++) print vars[j] } }' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install the Debian packages and check the Go toolchain (idempotent; needs root)
	@./scripts/install-deps.sh

##@ Build

.PHONY: build
build: ## Build every services/*/cmd/<name> into bin/<name>
	@mkdir -p "$(BIN_DIR)"
	@if [[ -z "$(CMD_DIRS)" ]]; then echo "no binaries yet (no main package under services/*/cmd/)"; fi
	@for cmd in $(CMD_DIRS); do \
		svc=$${cmd%%/cmd/*}; name=$${cmd##*/}; \
		echo "==> $$svc: go build -o bin/$$name ./cmd/$$name"; \
		(cd "$$svc" && $(GO) build -o "$(BIN_DIR)/$$name" "./cmd/$$name"); \
	done

.PHONY: clean
clean: ## Remove bin/ and .tools/
	rm -rf "$(BIN_DIR)" "$(CURDIR)/.tools"

##@ Test

.PHONY: test
test: deps build ## What CI runs: go test in every module (integration last), then each fuzz target for FUZZTIME
	@$(call foreach_module,$(UNIT_MODULES),go test,$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...)
	@$(call foreach_module,$(filter integration,$(MODULES)),go test -p 1,$(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...)
	@$(run_proxy_nftables)
	@$(run_fuzz)

.PHONY: test-unit
test-unit: ## go test in proto, libs and services/* (no integration, no fuzzing)
	@$(call foreach_module,$(UNIT_MODULES),go test,$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...)

.PHONY: test-e2e
test-e2e: deps build ## Only the end-to-end proof (part of `make test`): gantry up on this host (integration/up), gantry init/join on simulated hosts (integration/join), then an HA cluster under faults (integration/e2e)
	cd integration && $(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./up/ ./join/ ./e2e/

.PHONY: test-integration
test-integration: deps build ## go test in integration/ only (multi-process tests against bin/), one package at a time (node tests share the host's network)
	@$(call foreach_module,$(filter integration,$(MODULES)),go test -p 1,$(GO) test -p 1 -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...)
	@$(run_proxy_nftables)

.PHONY: fuzz
fuzz: ## Run each Go fuzz target for FUZZTIME (part of `make test`)
	@$(run_fuzz)

.PHONY: bench
bench: bench-store bench-apiserver bench-agent bench-scheduler bench-controllers bench-ingress bench-proxy ## Run all benchmarks

.PHONY: bench-store
bench-store: deps build ## Benchmark gantry-store (integration/cmd/storebench BENCH_ARGS)
	@printf '\n==> integration: go run ./cmd/storebench %s\n' "$(BENCH_ARGS)"
	@cd integration && $(GO) run ./cmd/storebench $(BENCH_ARGS)

.PHONY: bench-apiserver
bench-apiserver: deps build ## Benchmark gantry-apiserver on gantry-store and on etcd (integration/cmd/apibench BENCH_ARGS)
	@printf '\n==> integration: go run ./cmd/apibench %s\n' "$(BENCH_ARGS)"
	@cd integration && $(GO) run ./cmd/apibench $(BENCH_ARGS)

.PHONY: bench-agent
bench-agent: deps build ## Benchmark pod startup on gantry-agent against bare containerd (integration/cmd/agentbench BENCH_ARGS; root)
	@printf '\n==> integration: go run ./cmd/agentbench %s\n' "$(BENCH_ARGS)"
	@cd integration && $(GO) run ./cmd/agentbench $(BENCH_ARGS)

.PHONY: bench-scheduler
bench-scheduler: deps build ## Benchmark gantry-scheduler: 5,000 simulated nodes, 10,000 pods (integration/cmd/schedbench BENCH_ARGS)
	@printf '\n==> integration: go run ./cmd/schedbench %s\n' "$(BENCH_ARGS)"
	@cd integration && GANTRY_BIN_DIR=$(BIN_DIR) $(GO) run ./cmd/schedbench $(BENCH_ARGS)

.PHONY: bench-controllers
bench-controllers: deps build ## Benchmark the control plane: a Deployment 0 -> 10,000 replicas on 100 simulated nodes, a 1,000-replica rolling update (integration/cmd/ctrlbench BENCH_ARGS)
	@printf '\n==> integration: go run ./cmd/ctrlbench %s\n' "$(BENCH_ARGS)"
	@cd integration && GANTRY_BIN_DIR=$(BIN_DIR) $(GO) run ./cmd/ctrlbench $(BENCH_ARGS)

.PHONY: bench-ingress
bench-ingress: deps build ## Benchmark gantry-ingress against direct-to-backend requests with wrk (integration/cmd/ingressbench BENCH_ARGS; root)
	@printf '\n==> integration: go run ./cmd/ingressbench -wrk %s\n' "$(BENCH_ARGS)"
	@cd integration && GANTRY_BIN_DIR=$(BIN_DIR) $(GO) run ./cmd/ingressbench -wrk $(BENCH_ARGS)

.PHONY: bench-proxy
bench-proxy: deps build ## Benchmark gantry-proxy's network programming latency: 1,000/5,000/10,000 Services, full and single-change syncs (integration/cmd/proxybench BENCH_ARGS; root)
	@printf '\n==> integration: go run ./cmd/proxybench %s\n' "$(BENCH_ARGS)"
	@cd integration && GANTRY_BIN_DIR=$(BIN_DIR) $(GO) run ./cmd/proxybench $(BENCH_ARGS)

##@ Code generation and hygiene

.PHONY: proto
proto: ## Regenerate Go code from proto/**/*.proto (protoc, paths=source_relative)
	@files=$$(cd proto && find . -mindepth 1 -name '.*' -prune -o -name '*.proto' -print | sed 's|^\./||' | sort); \
	if [[ -z "$$files" ]]; then echo "no .proto files yet"; exit 0; fi; \
	command -v protoc >/dev/null || { echo "protoc not found; run 'make deps'" >&2; exit 1; }; \
	if ! "$(TOOLS_BIN)/protoc-gen-go" --version 2>/dev/null | grep -qF " $(PROTOC_GEN_GO_VERSION)"; then \
		echo "==> installing protoc-gen-go $(PROTOC_GEN_GO_VERSION) into .tools/bin"; \
		GOBIN="$(TOOLS_BIN)" $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION); \
	fi; \
	if ! "$(TOOLS_BIN)/protoc-gen-go-grpc" --version 2>/dev/null | grep -qF " $(PROTOC_GEN_GO_GRPC_VERSION:v%=%)"; then \
		echo "==> installing protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC_VERSION) into .tools/bin"; \
		GOBIN="$(TOOLS_BIN)" $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION); \
	fi; \
	echo "==> proto: protoc $$(echo $$files)"; \
	cd proto && protoc -I . \
		--plugin=protoc-gen-go="$(TOOLS_BIN)/protoc-gen-go" \
		--plugin=protoc-gen-go-grpc="$(TOOLS_BIN)/protoc-gen-go-grpc" \
		--go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative \
		$$files

.PHONY: check-proto
check-proto: proto ## Fail if proto/ differs from what is committed after `make proto`
	@changes=$$(git status --porcelain -- proto/); \
	if [[ -n "$$changes" ]]; then \
		echo "proto/ has uncommitted or stale generated files; run 'make proto' and commit the result:" >&2; \
		echo "$$changes" >&2; \
		exit 1; \
	fi

.PHONY: tidy
tidy: ## go mod tidy in every module
	@for mod in $(MODULES); do \
		printf '\n==> %s: go mod tidy\n' "$$mod"; \
		(cd "$$mod" && $(GO) mod tidy); \
	done

.PHONY: check
check: ## gofmt -l must be empty, then go vet in every module
	@printf '\n==> gofmt -l\n'; \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		files=$$(git ls-files --cached --others --exclude-standard -- '*.go' ':(exclude,glob)**/testdata/**' | sort -u); \
	else \
		files=$$(find . -mindepth 1 \( -name '.*' -o -name testdata -o -name vendor \) -prune -o -name '*.go' -print); \
	fi; \
	unformatted=$$(for f in $$files; do if [[ -f "$$f" ]]; then echo "$$f"; fi; done | xargs -r gofmt -l); \
	if [[ -n "$$unformatted" ]]; then \
		echo "these files need gofmt (run: gofmt -w <file>):" >&2; \
		echo "$$unformatted" | sed 's/^/    /' >&2; \
		exit 1; \
	fi
	@$(call foreach_module,$(MODULES),go vet,$(GO) vet ./...)

##@ Local cluster

.PHONY: up
up: deps build ## Start a whole cluster on this host in the background (bin/gantry up)
	@"$(BIN_DIR)/gantry" up

.PHONY: down
down: ## Stop what `make up` started and remove its host networking (bin/gantry down)
	@if [[ ! -x "$(BIN_DIR)/gantry" ]]; then \
		echo "==> services/cli: go build -o bin/gantry ./cmd/gantry"; \
		mkdir -p "$(BIN_DIR)" && cd services/cli && $(GO) build -o "$(BIN_DIR)/gantry" ./cmd/gantry; \
	fi
	@"$(BIN_DIR)/gantry" down
