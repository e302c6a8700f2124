# Atelier. `make run` and `make test` work on a fresh Debian machine: they install what is missing.
GO       ?= go
BIN      := bin/atelier
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Fuzz targets run for a few seconds each in `make test`: PACKAGE:TARGET.
FUZZ_TARGETS ?= ./pipeline:FuzzParseTimecode ./pipeline:FuzzParseMeta ./pipeline/subtitle:FuzzRetime ./pipeline/subtitle:FuzzParse ./catalog:FuzzVersionOrder ./pipeline/media:FuzzProgressParser ./pipeline/media:FuzzParseMediaPlaylist ./schedule:FuzzImport ./schedule:FuzzWriteFeedText ./web:FuzzSingleRange ./web:FuzzStreamKey ./web:FuzzReplayOfURL ./assets:FuzzValidKey
FUZZTIME ?= 5s
# `make fuzz-long` runs each target for minutes: before closing a change to a parser, or nightly.
# FUZZ_PARALLEL caps the fuzzing workers (default: one per CPU); 1 on a shared machine.
FUZZTIME_LONG ?= 3m
FUZZ_PARALLEL ?=

export ATELIER_VERSITYGW ?= $(CURDIR)/.cache/bin/versitygw

.PHONY: vendor-js all build run test test-go fuzz fuzz-long vet fmt bench deps-run deps-test clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: vendor-js ## build bin/atelier
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/atelier

# Front-end libraries come from the npm registry at build time into the embedded, git-ignored
# web/static/vendor/ (third-party code is not committed). Without npm the build still works: the
# player then plays the MP4 instead of HLS in browsers without native HLS.
HLSJS_VERSION ?= 1.7.4
# tus-js-client: the studio's resumable uploads (without it the studio sends the file in one request).
TUSJS_VERSION ?= 4.3.1
VENDOR_JS := web/static/vendor/hls.min.js
VENDOR_TUS := web/static/vendor/tus.min.js
vendor-js: $(VENDOR_JS) $(VENDOR_TUS)
$(VENDOR_TUS):
	@if command -v npm >/dev/null; then \
	  mkdir -p .cache/npm && cd .cache/npm && \
	  npm pack --silent tus-js-client@$(TUSJS_VERSION) >/dev/null && \
	  tar -xzf tus-js-client-$(TUSJS_VERSION).tgz package/dist/tus.min.js package/LICENSE && \
	  cp package/dist/tus.min.js $(CURDIR)/$(VENDOR_TUS) && cp package/LICENSE $(CURDIR)/web/static/vendor/tus-js-client.LICENSE; \
	else echo "npm not found: tus-js-client not vendored, the studio uploads in one request"; fi
$(VENDOR_JS):
	@if command -v npm >/dev/null; then \
	  mkdir -p .cache/npm && cd .cache/npm && \
	  npm pack --silent hls.js@$(HLSJS_VERSION) >/dev/null && \
	  tar -xzf hls.js-$(HLSJS_VERSION).tgz package/dist/hls.min.js package/LICENSE && \
	  cp package/dist/hls.min.js $(CURDIR)/$(VENDOR_JS) && cp package/LICENSE $(CURDIR)/web/static/vendor/hls.js.LICENSE; \
	else echo "npm not found: hls.js not vendored, the player falls back to MP4"; fi

deps-run:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

run: deps-run build ## install what is missing and start Atelier on http://127.0.0.1:8080 (data in ./data)
	./$(BIN) serve

test: deps-test vendor-js vet test-go fuzz ## install what is missing, vet, run every test and the fuzz targets

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test-go:
	$(GO) test -count=1 -timeout 30m ./...

fuzz:
	@GO="$(GO)" FUZZ_PARALLEL="$(FUZZ_PARALLEL)" scripts/fuzz.sh $(FUZZTIME) stop $(FUZZ_TARGETS)

# A crasher is written to the package's testdata/fuzz/<Target>/: commit it with the fix, and
# `go test` replays it from then on as a regression input. Unlike `fuzz`, fuzz-long goes on after
# a failing target and names them all at the end. scripts/fuzz.sh tells a crasher from Go 1.26's
# end-of-run coordinator race (go.dev/issue/75804), which loaded machines hit.
fuzz-long: ## each fuzz target for FUZZTIME_LONG (3m); FUZZ_PARALLEL=1 on a shared machine
	@GO="$(GO)" FUZZ_PARALLEL="$(FUZZ_PARALLEL)" scripts/fuzz.sh $(FUZZTIME_LONG) keep-going $(FUZZ_TARGETS)

# Media, seeded databases and binaries are cached under .cache/bench; the table goes to
# bench/results.md, logs and profiles to bench/out/.
bench: deps-test ## measure Atelier against the bare tools (BENCH_QUICK=1 for a short run)
	$(GO) run ./bench

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
