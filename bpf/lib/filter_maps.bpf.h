/* The differential filter's maps (types and roles: include/filter_maps.h).
 * Their names are the ones include/span_filter.h refers to. */
#ifndef DIFFTRACE_FILTER_MAPS_BPF_H
#define DIFFTRACE_FILTER_MAPS_BPF_H

#include "filter_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_SERVICE_PIDS);
	__type(key, __u32);
	__type(value, struct dt_service);
} service_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_SERVICE_COMMS);
	__type(key, char[DT_COMM_LEN]);
	__type(value, struct dt_service);
} service_comms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DT_MAX_ENDPOINTS);
	__type(key, struct dt_endpoint_key);
	__type(value, struct dt_threshold);
} thresholds SEC(".maps");

/* Moved on by user space after it changes service_pids or service_comms, and
 * by a rename (a process's comm names its service): a connection's cached
 * service (emit.bpf.h) is good while this has not moved. */
volatile __u32 services_gen = 1;

/* Two epochs per endpoint: the profiler reads and zeroes the one the kernel
 * stopped writing to (never deletes: user/bpf/kernel_filter_store.cpp says
 * why). Entries are made on first use, not before. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2 * DT_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct dt_endpoint_key);
	__type(value, struct dt_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_FLAGGED);
	__type(key, struct dt_trace_key);
	__type(value, __u64);
} flagged SEC(".maps");

/* Direct-mapped by dt_keep_slot_of; user space sizes both to the same power
 * of two and maps keep_locks to take a slot's lock as the kernel does
 * (user/bpf/kernel_filter_store.cpp). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DT_KEEP_TRACES);
	__type(key, __u32);
	__type(value, struct dt_kept_trace);
} keep SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DT_KEEP_TRACES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} keep_locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_filter_scratch);
} filter_scratch SEC(".maps");

/* The span the filter step works on (include/span_filter.h says why a map). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_span_event);
} filter_span SEC(".maps");

/* Fixed for the run; set through the skeleton's rodata before load. */
const volatile struct dt_filter_settings filter_settings = {
	.no_filter = 0, .default_role = DT_ROLE_FUNCTION, .keep_spans = DT_KEEP_SPANS,
	.keep_mask = DT_KEEP_TRACES - 1,
};

/* Which half of hists the kernel writes; user space flips it (.bss). */
__u8 hist_epoch = 0;

#endif
