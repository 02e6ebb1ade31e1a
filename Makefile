# difftrace build. `make` builds build/difftrace; `make test` runs every tier;
# `make demo` traces the demo platform. See README.md.
.DELETE_ON_ERROR:
.SUFFIXES:

ARCH     := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
BUILD    := build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CXX      ?= g++
PYTHON   ?= /usr/bin/python3

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -mcpu=v3 \
              -Ivmlinux/$(ARCH) -Iinclude -Ibpf -Wall -Wno-unused-function
CXXFLAGS   ?= -O2 -g
CXXFLAGS   += -std=c++20 -Wall -Wextra -MMD -MP -Iinclude -Iuser -Itests -I$(BUILD) \
              $(shell pkg-config --cflags spdlog protobuf libcurl)
LDLIBS     := -lbpf -lelf -lz $(shell pkg-config --libs spdlog protobuf libcurl cpp-httplib) -lpcap \
              -lyaml-cpp -lnghttp2 -pthread
# Debian's cpp-httplib is a built library: what includes httplib.h must see the defines it was
# built with (TLS, zlib, brotli), or its classes differ from the library's.
HTTPLIB_CFLAGS := $(shell pkg-config --cflags cpp-httplib)
$(BUILD)/obj/user/agent/http_endpoint.o $(BUILD)/obj/tests/unit/test_agent.o: CXXFLAGS += $(HTTPLIB_CFLAGS)

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
BPF_DEPS   := $(wildcard bpf/lib/*.h bpf/sources/*.h include/*.h include/*/*.h include/protocols/*/*.h)

# proto/X.proto -> build/X.pb.{h,cc} (protoc), linked into everything user/ is.
PROTOS     := $(wildcard proto/*.proto)
PROTO_HDRS := $(PROTOS:proto/%.proto=$(BUILD)/%.pb.h)
PROTO_OBJS := $(PROTOS:proto/%.proto=$(BUILD)/obj/proto/%.pb.o)
USER_SRCS  := $(shell find user -name '*.cpp' ! -path user/main.cpp | sort)
USER_OBJS  := $(USER_SRCS:%.cpp=$(BUILD)/obj/%.o) $(PROTO_OBJS)
COMMON_SRCS:= $(wildcard tests/common/*.cpp tests/common/cases/*.cpp)
UNIT_SRCS  := $(wildcard tests/unit/*.cpp) $(COMMON_SRCS)
UNIT_OBJS  := $(UNIT_SRCS:%.cpp=$(BUILD)/obj/%.o)
BPFT_SRCS  := $(wildcard tests/bpf/*.cpp) $(COMMON_SRCS)
BPFT_OBJS  := $(BPFT_SRCS:%.cpp=$(BUILD)/obj/%.o)

.PHONY: all deps test unit-test bpf-test e2e-test test-kernels demo platform-up platform-down bench bench-replay clean fmt vmlinux

all: $(BUILD)/difftrace

deps:
	@scripts/install-deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_DEPS) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# Every user object may include a skeleton or a generated protobuf header: make them all first.
$(BUILD)/obj/%.o: %.cpp | $(SKELS) $(PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/%.pb.h $(BUILD)/%.pb.cc: proto/%.proto
	@mkdir -p $(BUILD)
	protoc --proto_path=proto --cpp_out=$(BUILD) $<

$(BUILD)/obj/proto/%.pb.o: $(BUILD)/%.pb.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/difftrace: $(BUILD)/obj/user/main.o $(USER_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(USER_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/bpf-tests: $(BPFT_OBJS) $(USER_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# libFuzzer target over the pcap reader, TCP reassembly, the HTTP/1.x
# boundary code, the HTTP/2 follower and HPACK decoding (tests/fuzz/fuzz_pcap.cpp);
# UB is made fatal so it counts.
FUZZ_SRCS := tests/fuzz/fuzz_pcap.cpp $(wildcard user/replay/*.cpp) \
             user/capture/span.cpp user/capture/span_decoder.cpp user/capture/trace_context.cpp \
             user/capture/go_process.cpp user/capture/elf_file.cpp
$(BUILD)/fuzz_pcap: $(FUZZ_SRCS) $(wildcard user/replay/*.h include/*.h include/protocols/*/*.h)
	@mkdir -p $(BUILD)
	clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -Iinclude -Iuser $(FUZZ_SRCS) -lpcap -lnghttp2 -o $@

$(BUILD)/bpf:
	@mkdir -p $@

# A real grpc-go server for the HTTP/2 e2e tests (tests/e2e/test_trace_grpc.py), built from
# Debian's Go module sources (golang-google-grpc-dev) in GOPATH mode: no network.
$(BUILD)/go-grpc-server: tests/e2e/tools/go_grpc_server/main.go
	cd tests/e2e/tools/go_grpc_server && GO111MODULE=off GOPROXY=off \
	  GOPATH=$(abspath $(BUILD))/go/path:/usr/share/gocode GOCACHE=$(abspath $(BUILD))/go/cache \
	  go build -o $(abspath $@) .

# The test tiers: unit (no privileges), bpf (root, real kernel), e2e (root,
# real servers and clients). scripts/run-tests.sh prints one closing line.
test: deps all $(BUILD)/unit-tests $(BUILD)/bpf-tests $(BUILD)/fuzz_pcap $(BUILD)/go-grpc-server
	@scripts/run-tests.sh

unit-test: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

bpf-test: all $(BUILD)/bpf-tests
	$(BUILD)/bpf-tests

e2e-test: all
	$(PYTHON) -m pytest -q tests/e2e

# The kernel matrix: Debian 12's 6.1 and 6.12 cloud kernels booted under QEMU (TCG), and the
# host's kernel, each running check, the [bpf] tier and a live smoke test
# (scripts/kernels/test-kernels.sh); the table goes to $(BUILD)/kernels/results.md.
test-kernels: deps all $(BUILD)/bpf-tests
	@scripts/kernels/test-kernels.sh $(BUILD)

demo: deps all
	@scripts/demo.sh

platform-up:
	@scripts/platform/up.sh

platform-down:
	@scripts/platform/down.sh

vmlinux:
	scripts/gen-vmlinux.sh

# Benchmarks (BENCHMARKS.md): scripts/bench/run_all.sh writes build/bench/results.json
# and results.md. Bench programs live in bench/ and are built only here, never by
# `make` or `make test`.
BENCH_BINS := $(BUILD)/ingest-bench $(BUILD)/ringbuf-ingest-bench $(BUILD)/pipeline-bench $(BUILD)/gen-http-pcap \
	$(BUILD)/boundary-cost $(BUILD)/hook-floor $(BUILD)/json-parse-floor $(BUILD)/bpf-jit-lines

$(BUILD)/ingest-bench: $(BUILD)/obj/bench/ingest_bench.o $(USER_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# Ingest fed from a real ring buffer: bench/span_gen.bpf.c writes synthetic span events.
$(BUILD)/bpf/span_gen.bpf.o: bench/span_gen.bpf.c $(BPF_DEPS) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/obj/bench/ringbuf_ingest_bench.o: $(BUILD)/span_gen.skel.h

$(BUILD)/ringbuf-ingest-bench: $(BUILD)/obj/bench/ringbuf_ingest_bench.o $(USER_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# The same loop past the ring buffer, one thread, no kernel: CPU per event, to compare builds.
$(BUILD)/pipeline-bench: $(BUILD)/obj/bench/pipeline_bench.o $(USER_OBJS)
	$(CXX) $(CXXFLAGS) $^ -o $@ $(LDLIBS)

# The kernel's per-request steps through the test entry, timed by the kernel's run-time stats.
$(BUILD)/obj/bench/boundary_cost.o: $(BUILD)/http_test.skel.h

$(BUILD)/boundary-cost: $(BUILD)/obj/bench/boundary_cost.o
	$(CXX) $(CXXFLAGS) $^ -o $@ -lbpf -lelf -lz

# Empty programs on the capture program's hooks (and the Go uprobes' sites): the floor of what
# a process pays.
$(BUILD)/bpf/hook_floor.bpf.o: bench/hook_floor.bpf.c | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/obj/bench/hook_floor.o: $(BUILD)/hook_floor.skel.h

$(BUILD)/hook-floor: $(BUILD)/obj/bench/hook_floor.o $(BUILD)/obj/user/capture/go_probe_sites.o \
		$(BUILD)/obj/user/capture/elf_file.o $(BUILD)/obj/user/error.o
	$(CXX) $(CXXFLAGS) $^ -o $@ -lbpf -lelf -lz

# Where each source line's JIT code starts in loaded programs (scripts/bench/bpf_call_sites.py).
$(BUILD)/bpf-jit-lines: $(BUILD)/obj/bench/bpf_jit_lines.o
	$(CXX) $(CXXFLAGS) $^ -o $@ -lbpf -lelf -lz

# The parse floor under analyze's throughput (simdjson, libsimdjson-dev); -march=native for this
# file only: the best simdjson does on the machine that runs the bench.
$(BUILD)/json-parse-floor: bench/json_parse_floor.cpp $(USER_OBJS)
	$(CXX) $(CXXFLAGS) -march=native $< $(USER_OBJS) -o $@ $(LDLIBS) $(shell pkg-config --libs simdjson)

bench: deps all $(BENCH_BINS)
	@scripts/bench/run_all.sh

# Replay throughput on a generated capture of at least 1 GB, against tshark on the same file
# (BENCHMARKS.md): one part of `make bench`, or alone (under a minute).
$(BUILD)/gen-http-pcap: bench/gen_http_pcap.cpp
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -std=c++20 -Wall -Wextra $< -o $@ -lpcap

bench-replay: deps all $(BUILD)/gen-http-pcap
	@scripts/bench/replay_throughput.sh

fmt:
	clang-format -i $$(find user tests -name '*.cpp' -o -name '*.h' | grep -v fixtures)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
