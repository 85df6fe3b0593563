# batchport — run `make help` for the targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

STATE ?= $(or $(BATCHPORT_LOCAL_STATE),/tmp/batchport-local)
CACHE ?= $(or $(BATCHPORT_CACHE),$(HOME)/.cache/batchport)
BIN := bin/batchport
STATICCHECK := $(CACHE)/bin/staticcheck
GO_TEST_FLAGS ?= -race -count=1 -timeout 20m -parallel 8

.PHONY: help build demo test test-unit lint bench stack-up stack-down clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/batchport
	go build -ldflags "-X github.com/batchport/batchport/internal/cli.Commit=$$(git rev-parse HEAD 2>/dev/null)" -o $(BIN) ./cmd/batchport

stack-up: ## Install (if missing) and start the local stack (on 127.0.0.1; fauxqs on every interface)
	bash deploy/local/up.sh

stack-down: ## Stop the local stack (PostgreSQL is left running)
	bash deploy/local/down.sh

demo: build stack-up ## Run the sample job end to end: queue, worker, PostgreSQL, S3, SFTP
	bash deploy/local/demo.sh

test: stack-up ## Run every test, against the local stack
	set -a; source "$(STATE)/env"; set +a; go test $(GO_TEST_FLAGS) ./...

test-unit: ## Run the tests that need no servers (the others skip)
	go test -short -count=1 ./...

lint: ## go vet and staticcheck
	go vet ./...
	test -x $(STATICCHECK) || GOBIN=$(CACHE)/bin go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

clean: ## Remove build output
	rm -rf bin

bench: build stack-up ## Measure batchport against psql, the AWS CLI and sftp (prints ratios, writes JSON)
	set -a; source "$(STATE)/env"; set +a; go run ./bench -batchport $(BIN)
