#!/usr/bin/python3
"""Where the ingest loop's time goes: `perf script` of a `perf record -g` of
build/ringbuf-ingest-bench, one thread's samples put into the loop's stages.

    perf record -F 999 --call-graph dwarf,32768 -o perf.data -- \\
        build/ringbuf-ingest-bench --rates 1000000 --seconds 3 --config scripts/platform/difftrace.yaml
    perf script -i perf.data -F tid,ip,sym | scripts/bench/ingest_profile.py

The consumer is the thread with the most samples in SpanPipeline (the producer only runs
BPF_PROG_TEST_RUN). Each sample goes to the innermost stage on its stack (a stage inside
another is its own row); "of which memory" counts samples whose leaf is malloc/free or a page
fault, the cost of allocating, copying into new memory and giving it back.
"""
import re
import sys
from collections import Counter, defaultdict

# (row, pattern): a sample's row is the innermost frame matching a pattern.
STAGES = [
    ("consume: libbpf ring buffer + push", r"Collector::(poll|drain)|ring_buffer__"),
    ("consume: decode (SpanDecoder::decode)", r"SpanDecoder::decode"),
    ("names (enrichers)", r"SpanPipeline::enrich|Enricher::enrich"),
    ("assembler: grouping, maps, moves", r"Assembler::(add|expire|send\b|send_late|merge_open)"),
    ("assembler: judge (profiles)", r"Assembler::judge_all"),
    ("assembler: linker", r"Linker::link"),
    ("assembler: estimator.learn", r"Estimator::learn"),
    ("assembler: sent traces kept for late spans", r"Assembler::(remember_sent|forget_)"),
    ("assembler: causal join", r"CausalJoin::"),
    ("send: split target", r"split_target"),
    ("send: stats", r"RunStats::add"),
    ("send: OTLP-JSON encode + write", r"export_spans|append_otlp_request"),
    ("profiler tick", r"Profiler::tick"),
]
COMPILED = [(n, re.compile(p)) for n, p in STAGES]
MEMORY = re.compile(r"malloc|_int_free|cfree|__libc_free|operator new|operator delete|"
                    r"exc_page_fault|clear_page|malloc_consolidate|unlink_chunk|munmap|madvise")


def samples(lines):
    tid, frames = None, []
    for line in lines:
        if not line.strip():
            if tid is not None:
                yield tid, frames
            tid, frames = None, []
        elif not line.startswith(("\t", " " * 8)) and line.strip().split()[0].isdigit() and tid is None:
            tid = int(line.split()[0])
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else "?")
    if tid is not None:
        yield tid, frames


def main():
    by_tid = defaultdict(list)
    for tid, frames in samples(sys.stdin):
        by_tid[tid].append(frames)  # leaf first
    consumer = max(by_tid, key=lambda t: sum(any("SpanPipeline" in f for f in fr) for fr in by_tid[t]))
    rows, mem = Counter(), Counter()
    total = len(by_tid[consumer])
    for frames in by_tid[consumer]:
        row = "other (loop, libc, kernel)"
        for f in frames:  # leaf to root: the innermost stage wins
            hit = next((n for n, p in COMPILED if p.search(f)), None)
            if hit:
                row = hit
                break
        rows[row] += 1
        if frames and any(MEMORY.search(f) for f in frames[:6]):
            mem[row] += 1
    print(f"consumer thread {consumer}: {total} samples")
    print("| stage | share of the consumer's samples | of which memory (malloc/free/page faults) |")
    print("|---|---:|---:|")
    for name, _ in STAGES + [("other (loop, libc, kernel)", None)]:
        if rows[name]:
            print(f"| {name} | {100 * rows[name] / total:.1f}% | {100 * mem[name] / total:.1f}% |")
    print(f"| all | 100% | {100 * sum(mem.values()) / total:.1f}% |")


if __name__ == "__main__":
    main()
