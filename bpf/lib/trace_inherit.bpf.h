/* One trace id per request that carries no trace header, given in the kernel,
 * so that the filter's flagged traces and keep-buffer (include/span_filter.h)
 * work for header-less requests as they do for traced ones. An exchange whose
 * request has no trace context takes:
 *   - SERVER: the trace id of the traced CLIENT request whose first byte it
 *     reads (wire_traces below: written at the client's send, keyed by the
 *     client end and the TCP sequence number of that byte, which DNAT and
 *     connection pools leave alone); else a new one: it is a root;
 *   - CLIENT: the trace id of the SERVER exchange that caused it
 *     (bpf/lib/causality.bpf.h decides which, or that none is known); else a
 *     new one: a request nothing known caused starts a trace of its own.
 * A header's trace id is never replaced, and a SERVER exchange whose request
 * carried one passes it on to the CLIENT requests it causes.
 *
 * A SERVER exchange's id is decided when first needed (a CLIENT request it
 * causes, or its span's end), not when its request is read: by then its
 * caller's send has returned and written the wire entry. A server that reads
 * and forwards a request before its caller's send returned (preempted right
 * after the data went out) starts a trace of its own, counted as
 * trace_ids_wire_missed; user space joins the two again by the same keys
 * (assembler/causal_join.h) and pulls the kept spans of both.
 *
 * Minted ids are 128 random bits (W3C-valid: never all zero). The span event
 * marks every id given here as the kernel's (DT_CTX_KERNEL): the trace is the
 * request's, the id is ours, and it is never exported as if a client sent it. */
#ifndef DIFFTRACE_TRACE_INHERIT_BPF_H
#define DIFFTRACE_TRACE_INHERIT_BPF_H

/* Where an exchange's trace id (dt_conn.trace) came from. */
enum dt_trace_src {
	DT_TRACE_NONE = 0,
	DT_TRACE_HEADER = 1, /* its request's own header (a SERVER's, passed to what it causes) */
	DT_TRACE_MINTED = 2,
	DT_TRACE_CAUSE = 3,  /* a CLIENT's: its cause's */
	DT_TRACE_WIRE = 4,   /* a SERVER's: its traced caller's request */
};

/* A request's first byte on the wire: the client end of its connection and
 * the byte's TCP sequence number. */
struct dt_wire_req {
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__u32 seq;
};

/* Requests in flight between a client's send and its server's first read:
 * an entry is taken by that read, or pushed out by newer ones. */
#define DT_MAX_WIRE_REQS 16384

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_WIRE_REQS);
	__type(key, struct dt_wire_req);
	__type(value, struct dt_trace_key);
} wire_traces SEC(".maps");

/* Keys and values built here, not on the stack: the deepest call chain (the
 * I/O path, emit or causality, then these) must fit the verifier's 512 bytes,
 * and 6.1 counts a frame more than later kernels do. */
struct dt_trace_scratch {
	struct dt_wire_req wire;
	struct dt_client_end peer;
	struct dt_trace_key trace;
	__u64 words[2];       /* a minted id's random bits */
	char text[40];        /* ... as text, with bpf_snprintf's NUL */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_trace_scratch);
} trace_scratch SEC(".maps");

static __always_inline struct dt_trace_scratch *trace_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&trace_scratch, &zero);
}

/* n 8-byte words from src to dst (map memory: alignment unchecked). A byte
 * copy would make the compiler hold and spill the bytes, and this file's
 * functions sit at the bottom of the deepest call chains, whose stack must
 * stay within 512 bytes. */
static __always_inline void copy_words(void *dst, const void *src, int n)
{
	__u64 *d = dst;
	const __u64 *s = src;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		d[i] = s[i];
}

#define copy_trace_id(dst, src) copy_words((dst), (src), 4)

static __always_inline void wire_req_of(struct dt_wire_req *k, const __u8 *addr, __u16 port,
					__u16 family, __u32 seq)
{
	copy_words(k->addr, addr, 2);
	k->port = port;
	k->family = family;
	k->seq = seq;
}

/* A new trace id, as header text, formatted by the kernel (bpf_snprintf): one
 * helper call, where a loop over 32 digits costs the verifier a walk of each. */
static const char trace_id_fmt[] = "%016llx%016llx";

static __always_inline void mint_trace_id(struct dt_trace_key *k, struct dt_trace_scratch *s)
{
	s->words[0] = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
	s->words[1] = (__u64)bpf_get_prandom_u32() << 32 | bpf_get_prandom_u32();
	if (!(s->words[0] | s->words[1]))
		s->words[1] = 1; /* W3C: never all zero */
	bpf_snprintf(s->text, sizeof(s->text), trace_id_fmt, s->words, sizeof(s->words));
	copy_trace_id(k->id, s->text);
	count(DT_C_TRACE_MINTED);
}

/* The trace id of SERVER connection c's exchange, decided now if it was not
 * yet (see the top of this file). may_have_header: its request's trace context
 * is still c's to read (at the span's end the event already says it had none).
 * A global function: verified once. */
__noinline int server_trace(struct dt_conn *c, int may_have_header)
{
	struct dt_trace_scratch *s = trace_scratch_get();
	const struct dt_trace_ctx *h;
	struct dt_trace_key *t;

	if (!c || !s || c->trace_src || c->protocol != DT_PROTO_HTTP1)
		return 0;
	h = &c->st.http1.ctx;
	if (may_have_header && (h->kind == DT_CTX_W3C || h->kind == DT_CTX_B3)) {
		copy_trace_id(c->trace.id, h->trace_id);
		c->trace_src = DT_TRACE_HEADER;
		return 0;
	}
	if (c->has_seq) {
		wire_req_of(&s->wire, c->tuple.peer_addr, c->tuple.peer_port, c->tuple.family,
			    c->req_seq);
		t = bpf_map_lookup_elem(&wire_traces, &s->wire);
		if (t) {
			copy_trace_id(c->trace.id, t->id);
			c->trace_src = DT_TRACE_WIRE;
			bpf_map_delete_elem(&wire_traces, &s->wire);
			count(DT_C_TRACE_BY_WIRE);
			return 0;
		}
		/* its caller is traced (conns.bpf.h's peer_traced, with the key here) */
		copy_words(s->peer.addr, c->tuple.peer_addr, 2);
		s->peer.port = c->tuple.peer_port;
		s->peer.family = c->tuple.family;
		s->peer._pad = 0;
		if (client_end_known(&s->peer))
			count(DT_C_TRACE_WIRE_MISSED);
	}
	mint_trace_id(&c->trace, s);
	c->trace_src = DT_TRACE_MINTED;
	return 0;
}

/* CLIENT connection c's request was caused by SERVER connection l's exchange:
 * it takes that exchange's trace id. */
static __always_inline void inherit_trace(struct dt_conn *c, struct dt_conn *l)
{
	server_trace(l, 1);
	if (!l->trace_src)
		return;
	copy_trace_id(c->trace.id, l->trace.id);
	c->trace_src = DT_TRACE_CAUSE;
	count(DT_C_TRACE_BY_CAUSE);
}

/* CLIENT connection c started a request, its cause decided: without a trace
 * header of its own it takes its cause's trace id (inherit_trace, already) or
 * a new one, and leaves it for the server that reads the request's first byte.
 * A global function: verified once. */
__noinline int client_trace(struct dt_conn *c)
{
	struct dt_trace_scratch *s = trace_scratch_get();

	if (!c || !s || c->protocol != DT_PROTO_HTTP1)
		return 0;
	if (c->st.http1.ctx.kind != DT_CTX_NONE) {
		c->trace_src = DT_TRACE_NONE; /* its header goes to the server itself */
		return 0;
	}
	if (!c->trace_src) {
		mint_trace_id(&c->trace, s);
		c->trace_src = DT_TRACE_MINTED;
	}
	if (!c->has_seq)
		return 0;
	wire_req_of(&s->wire, c->tuple.local_addr, c->tuple.local_port, c->tuple.family,
		    c->req_seq);
	/* a copy in a map value: 6.1 refuses plain memory (c, an argument) as one */
	copy_trace_id(s->trace.id, c->trace.id);
	bpf_map_update_elem(&wire_traces, &s->wire, &s->trace, BPF_ANY);
	return 0;
}

/* The span event e of connection c's finished exchange takes the trace id the
 * kernel gave the exchange, when its request had no trace context. Inline in
 * emit, a global function: a frame less on the deepest call chain. */
static __always_inline void give_trace(struct dt_conn *c, struct dt_span_event *e)
{
	if (e->ctx_kind != DT_CTX_NONE)
		return;
	if (e->kind == DT_SPAN_SERVER)
		server_trace(c, 0);
	if (!c->trace_src)
		return;
	copy_trace_id(e->trace_id, c->trace.id);
	__builtin_memset(e->parent_id, 0, sizeof(e->parent_id));
	e->trace_flags[0] = '0';
	e->trace_flags[1] = '1';
	e->ctx_kind = DT_CTX_KERNEL;
}

#endif
