# tts-repl — the two set-up commands are `make run` and `make test`; both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := run

# Swift lives in the toolchain folder when it is not on PATH (see the machine notes).
SWIFT_DIR := $(shell command -v swift >/dev/null 2>&1 || echo /opt/swift/usr/bin)
export PATH := $(if $(SWIFT_DIR),$(SWIFT_DIR):,)$(PATH)
SWIFT := swift
# Release binaries carry the Swift runtime and Foundation inside them: a process then starts
# without resolving ~100,000 symbols across a dozen runtime libraries (4 ms instead of 11 ms
# for a Foundation hello-world here), and the binary runs where no toolchain is installed.
RELEASE := -c release --static-swift-stdlib

APT_PACKAGES := libsqlite3-dev libhiredis-dev libcurl4-openssl-dev espeak-ng libespeak-ng-dev redis-server redis-tools sox libmicrohttpd-dev libsndfile1-dev openssl chromium chromium-driver unzip python3-venv libsox-fmt-all opus-tools mpg123 firefox-esr
# libcrypto's headers: TTSCore hashes with OpenSSL (CLibcrypto).
APT_PACKAGES += libssl-dev
# Only `make bench` needs these: the HTTP baselines and load generator of the serve rows, the sqlite3
# shell, and the reference encoders of the formats rows.
BENCH_PACKAGES := nginx wrk curl sqlite3 lame opus-tools flac
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release run demo test example bench clean help compat

help:
	@echo "make run    build and open the REPL (installs missing system packages)"
	@echo "make demo   the REPL on the Gemini engine, against fake-gemini on loopback (no key needed)"
	@echo "make test   run every test against a throwaway redis-server"
	@echo "make bench  release build and benchmarks (QUICK=1: the short version)"
	@echo "make clean  remove build products"

## deps: install only the Debian packages that are missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift not found on PATH nor in /opt/swift/usr/bin: install the Swift 6 toolchain"; exit 2; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE) --product tts-repl
	$(SWIFT) build $(RELEASE) --product fake-gemini

run: build
	@$$($(SWIFT) build --show-bin-path)/tts-repl

## demo: fake-gemini on a free loopback port, and the REPL talking Gemini's wire format to it.
demo: build
	@bin=$$($(SWIFT) build --show-bin-path); dir=$$(mktemp -d); \
	$$bin/fake-gemini --port 0 --port-file $$dir/port --latency-ms 300 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; rm -rf $$dir' EXIT; \
	for i in $$(seq 1 50); do [ -s $$dir/port ] && break; sleep 0.1; done; \
	echo "fake-gemini on 127.0.0.1:$$(cat $$dir/port); the store is $$dir/store"; \
	GEMINI_API_KEY=demo-key-not-secret GEMINI_BASE_URL=http://127.0.0.1:$$(cat $$dir/port) \
	  TTS_STORE=$$dir/store $$bin/tts-repl

## test: starts redis-server on a free loopback port in a temporary folder, runs every test,
## and stops the server afterwards, also when tests fail.
test: deps
	$(SWIFT) build --build-tests
	@bash Tests/with-redis.sh $(SWIFT) test --skip-build --disable-swift-testing
	@$(MAKE) --no-print-directory example
	@$(MAKE) --no-print-directory compat

## example: the TTSKit example package, built against the library by path and run twice on one
## store; the second run must be a local hit.
example: deps
	@cd Examples/speak-once && $(SWIFT) build -q && bin=$$($(SWIFT) build --show-bin-path) && dir=$$(mktemp -d) && \
	  trap 'rm -rf $$dir' EXIT && $$bin/speak-once $$dir/store && $$bin/speak-once $$dir/store | tee $$dir/second && \
	  { grep -q '^tier local$$' $$dir/second || { echo "speak-once: the second run was not a local hit"; exit 1; }; }

## compat: Google's and OpenAI's own Python SDKs against `tts-repl serve` (Tests/compat; the
## SDKs go into a virtual environment under .build, made when missing).
compat: deps
	$(SWIFT) build
	@bash Tests/compat/run.sh "$$($(SWIFT) build --show-bin-path)"

## bench: release build, a throwaway redis-server on a free loopback port, then every scenario
## (each figure beside its baseline from the same run); the rows also go to bench/results.json.
## QUICK=1 runs the short version (fewer rounds, 100k instead of 1M clips). Missed targets are
## reported, not failed: the status is non-zero only when the harness itself fails.
## The reference encoders the formats benchmark races (installed by `make bench` only).

bench: deps
	@$(MAKE) --no-print-directory deps APT_PACKAGES="$(BENCH_PACKAGES)"
	$(SWIFT) build $(RELEASE) --product tts-repl
	$(SWIFT) build $(RELEASE) --product fake-gemini
	$(SWIFT) build $(RELEASE) --product tts-bench
	@bash Tests/with-redis.sh --export TTS_BENCH_REDIS_URL --cluster-replicas 0 \
	  "$$($(SWIFT) build $(RELEASE) --show-bin-path)/tts-bench" $(if $(QUICK),--quick) \
	  --out "$(CURDIR)/bench/results.json" --commit "$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

clean:
	rm -rf .build
