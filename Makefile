# xdpgw: see README.md. Every target installs what it needs first
# (testbed/deps.sh: Debian packages when root, Go modules from go.mod).

GO        ?= go
BIN       := build/xdpgw
FUZZTIME  ?= 30s
PKGS      := ./...

.PHONY: all build deps test unit vet fmtcheck lint bench bench-sessions fuzz demo clean generate

all: build

deps:
	@./testbed/deps.sh

build: deps
	$(GO) build -o $(BIN) ./cmd/xdpgw
	$(GO) build -o build/greendpoint ./tools/greendpoint

# The whole suite: static checks, unit tests (with fuzz seed corpora), race
# detector on the packages with concurrent readers, and the root-only
# testbed tests (they skip with a message when not root).
test: deps vet fmtcheck
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -race ./dataplane/fib/ ./dataplane/pipeline/ ./dataplane/neigh/ ./dataplane/session/ ./dataplane/firewall/ ./dataplane/afxdp/

vet:
	$(GO) vet $(PKGS)

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

lint: vet fmtcheck
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); \
	else echo "staticcheck not installed: skipped (go install honnef.co/go/tools/cmd/staticcheck@2025.1.1)"; fi

# Benchmarks of every package; docs/performance.md records the figures with
# this command, the machine and the date.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Fills one session table with 100M NAT64 sessions and reports VmRSS and
# bytes per session (dataplane/session BenchmarkFill100M; needs ~8 GiB).
bench-sessions:
	XDPGW_BENCH_SESSIONS=$${XDPGW_BENCH_SESSIONS:-100000000} $(GO) test -run '^$$' -bench '^BenchmarkFill100M$$' -benchtime 1x -timeout 30m ./dataplane/session/

# Runs every fuzz target for FUZZTIME each (make fuzz FUZZTIME=5m).
fuzz: deps
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The demo: build, generate a capture of the prototypes' traffic, replay it
# through the embedded default configuration and show what came out.
demo: build
	@./testbed/demo.sh

# Rebuilds generated files. The XDP programs are written with cilium/ebpf's
# asm package in Go, so there are no objects to regenerate today.
generate:
	$(GO) generate ./...

clean:
	rm -rf build
