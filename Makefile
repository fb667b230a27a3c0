# xdpgw: see README.md. Every target installs what it needs first
# (testbed/deps.sh: Debian packages when root, Go modules from go.mod).

GO        ?= go
BIN       := build/xdpgw
FUZZTIME  ?= 30s
PKGS      := ./...

.PHONY: all build deps test unit vet fmtcheck lint bench bench-sessions bench-ref fuzz demo clean generate

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
	$(GO) test -count=1 -race ./dataplane/fib/ ./dataplane/pipeline/ ./dataplane/neigh/ ./dataplane/session/ ./dataplane/firewall/ ./dataplane/afxdp/ ./control/replay/

vet:
	$(GO) vet $(PKGS)

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

lint: vet fmtcheck
	@if command -v staticcheck >/dev/null; then staticcheck $(PKGS); \
	else echo "staticcheck not installed: skipped (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)"; fi

# Benchmarks of every package (in-process, printed as one table), then the
# on-veth runs (testbed/bench.sh: XDP ceiling, xdpgw vs the kernel, kernel +
# nftables and tayga, in one three-namespace topology; root only), which
# write their table into docs/performance.md ("On-veth benchmarks").
# BENCH_VETH=0 skips the on-veth part; RUNS, DURATION, FLOWS tune it.
bench: build
	@$(GO) test -run '^$$' -bench . -benchmem $(PKGS) | tee build/bench.txt | awk ' \
	  /^pkg:/ {pkg=$$2; sub(/^xdpgw\//, "", pkg)} \
	  /^Benchmark/ { if (!hdr) {print "| package | benchmark | ns/op | B/op | allocs/op | other |"; print "|---|---|---:|---:|---:|---|"; hdr=1} \
	    ns=""; b=""; a=""; o=""; \
	    for (i=3; i<NF; i+=2) { if ($$(i+1)=="ns/op") ns=$$i; else if ($$(i+1)=="B/op") b=$$i; else if ($$(i+1)=="allocs/op") a=$$i; else o=o $$i " " $$(i+1) " " } \
	    printf "| %s | %s | %s | %s | %s | %s|\n", pkg, $$1, ns, b, a, o } \
	  /^(FAIL|panic|---)/ {print}'
	@if [ "$${BENCH_VETH:-1}" = 0 ]; then echo "on-veth benchmarks skipped (BENCH_VETH=0)"; \
	elif [ "$$(id -u)" -ne 0 ]; then echo "on-veth benchmarks skipped: testbed/bench.sh needs root"; \
	else XDPGW_BIN=$(CURDIR)/$(BIN) ./testbed/bench.sh all; fi

# Fills one session table with 100M NAT64 sessions and reports VmRSS and
# bytes per session (dataplane/session BenchmarkFill100M; needs ~8 GiB).
bench-sessions:
	XDPGW_BENCH_SESSIONS=$${XDPGW_BENCH_SESSIONS:-100000000} $(GO) test -run '^$$' -bench '^BenchmarkFill100M$$' -benchtime 1x -timeout 30m ./dataplane/session/

# The fast paths' bare work in C (tools/speedref) next to the Go replay
# benchmarks of the same packets, alternated three times so that both are
# measured in the same minutes (docs/performance.md, "What this machine
# can do").
bench-ref: deps
	@mkdir -p build
	$(CC) -O2 -o build/speedref tools/speedref/speedref.c
	$(GO) test -c -o build/replay.test ./control/replay/
	@for r in 1 2 3; do \
	  ./build/speedref gateway 20000000 && ./build/speedref nat64 20000000 && \
	  ./build/replay.test -test.run '^$$' -test.bench 'GatewayFastPath/1000flows|NAT64Established/1000flows' -test.benchtime 1s | grep '^Benchmark' || exit 1; \
	done

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
