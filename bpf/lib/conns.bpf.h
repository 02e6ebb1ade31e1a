/* Connection state, keyed by the connection's socket (its struct sock
 * address), so that every hook source finds it: a syscall source through
 * the fd's socket, a socket-level hook directly. A connection gets state
 * when a protocol's message starts on it (or at accept/connect), and loses
 * it when its socket closes or its owner process exits. */
#ifndef DIFFTRACE_CONNS_BPF_H
#define DIFFTRACE_CONNS_BPF_H

#include "protocols/http1/http1.h"
#include "protocols/http2/http2.h"

/* Each protocol's exchange state; dt_conn.protocol says which is in use.
 * As a finished exchange (done_scratch): http1, or h2_done for HTTP/2. */
union dt_proto_state {
	struct http_exchange http1;
	struct h2_conn h2;
	struct h2_stream h2_done;
};

struct dt_conn {
	union dt_proto_state st;
	struct dt_tuple tuple;
	__u64 conn_id;
	__u32 tgid;           /* the process that made the state: its exit ends it */
	__u32 tid;            /* thread that moved the request's first bytes */
	__u8 protocol;        /* enum dt_protocol */
	__u8 client_published; /* its tuple is in client_ends (a client connection) */
	/* Causality (bpf/lib/causality.bpf.h), of the exchange in progress: */
	__u8 cause;           /* CLIENT: enum dt_cause */
	__u8 counted;         /* SERVER: DT_COUNTED_* in thread counted_tid's counts */
	__u8 has_seq;         /* req_seq is set */
	__u8 cause_at_connect; /* CLIENT: its cause was found when it was connected */
	__u8 go_cause;        /* CLIENT: its cause was found by goroutine (go_causality.bpf.h) */
	__u8 peer_traced;     /* SERVER: its peer was found a target's client end (emit) */
	__u32 exch_seq;       /* requests started on this connection */
	__u32 req_seq;        /* TCP sequence number of the request's first byte */
	__u32 counted_tid;
	__u32 cause_exch;     /* CLIENT, DT_CAUSE_FOUND: the SERVER exchange that caused it */
	__u64 cause_conn_id;
	__u32 counted_gen;    /* which thread counted_tid was (thread ids are reused) */
	__u32 _pad2;
	__u64 line_hash;      /* the request line's hash (causality's R3) */
	/* The exchange's trace id when its request had none (bpf/lib/trace_inherit.bpf.h): */
	struct dt_trace_key trace;
	__u8 trace_src;       /* enum dt_trace_src; 0: none given yet */
	/* The service of its last span (emit.bpf.h's service_of_span): what the
	 * lookups by pid and comm found, good while services_gen, the pid and
	 * the thread's comm are the same. */
	__u8 svc_found;
	__u8 svc_leader_comm; /* the span's comm is its process's, not the thread's */
	__u8 _pad3[5];
	struct dt_service svc;
	__u32 svc_gen;        /* services_gen when found, + 1 (0: never) */
	__u32 svc_pid;
	char svc_thread_comm[DT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_CONNS);
	__type(key, __u64);   /* struct sock address */
	__type(value, struct dt_conn);
} conns SEC(".maps");

/* Zeroed template for new connections: too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dt_conn);
} conn_scratch SEC(".maps");

__u64 next_conn_id = 0;

/* The client end of a TCP connection (address, port, family): what a server
 * sees as its peer. DNAT on the way (a Kubernetes ClusterIP, kube-proxy)
 * rewrites the server end of the client's tuple, never this one. */
struct dt_client_end {
	__u8 addr[16];
	__u16 port;
	__u16 family;
	__u32 _pad;
};

static __always_inline void client_end_of(struct dt_client_end *k, const __u8 *addr, __u16 port,
					  __u16 family)
{
	__builtin_memcpy(k->addr, addr, sizeof(k->addr));
	k->port = port;
	k->family = family;
	k->_pad = 0;
}

/* The client ends of the targets' client connections: a SERVER span whose
 * peer is one has a traced caller (DT_SPAN_F_PEER_TRACED). An entry lives as
 * long as its connection's state: forgotten at close, when the socket's
 * state is renewed, and when the process exits. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DT_MAX_CONNS);
	__type(key, struct dt_client_end);
	__type(value, __u8);
} client_ends SEC(".maps");

/* At least as many as client_ends holds: +1 at each publish, -1 at each
 * delete that found its entry; an update over an entry already there, and
 * the LRU's evictions, leave it higher, never lower. While it is 0 no server
 * span has a traced peer, and emit skips the lookup (a miss in a large map
 * at each span of a server whose callers are not traced: 3% of difftrace's
 * BPF time on nginx). */
volatile __u32 client_ends_live = 0;

/* Forgets a client connection's end. */
static __always_inline void forget_client_end(const struct dt_conn *c)
{
	struct dt_client_end k;

	client_end_of(&k, c->tuple.local_addr, c->tuple.local_port, c->tuple.family);
	if (!bpf_map_delete_elem(&client_ends, &k))
		__sync_fetch_and_sub(&client_ends_live, 1);
}

__noinline int cause_uncount(struct dt_conn *c);

/* Forgets a connection's state and, for a client's, its end. */
static __always_inline void drop_conn(const __u64 *sock, struct dt_conn *c)
{
	if (c->client_published)
		forget_client_end(c);
	if (c->counted)
		cause_uncount(c);
	bpf_map_delete_elem(&conns, sock);
}

/* Fresh state for the connection on socket sk, owned by process tgid; 0
 * when made. A global function: verified once, not at each place a
 * connection starts. */
__noinline int new_conn_state(__u64 sk, __u32 tgid)
{
	__u32 zero = 0;
	struct dt_conn *old = bpf_map_lookup_elem(&conns, &sk);
	struct dt_conn *c;

	/* The socket's old state goes with its tuple, or an unrelated
	 * connection that reuses the tuple would pass for traced. */
	if (old && old->client_published)
		forget_client_end(old);
	c = bpf_map_lookup_elem(&conn_scratch, &zero);
	if (!c)
		return -1;
	__builtin_memset(c, 0, sizeof(*c));
	tuple_of_sock((struct sock *)sk, &c->tuple);
	c->tgid = tgid;
	c->conn_id = __sync_fetch_and_add(&next_conn_id, 1) + 1;
	if (bpf_map_update_elem(&conns, &sk, c, BPF_ANY)) {
		count(DT_C_CONN_MAP_FULL);
		return -1;
	}
	count(DT_C_CONNS_TRACKED);
	return 0;
}

static __always_inline struct dt_conn *new_conn(__u64 sk, __u32 tgid)
{
	if (new_conn_state(sk, tgid))
		return 0;
	return bpf_map_lookup_elem(&conns, &sk);
}

/* The connection's role, whatever its protocol. */
static __always_inline int conn_is_client(const struct dt_conn *c)
{
	return c->protocol == DT_PROTO_HTTP1 && c->st.http1.role == HTTP_ROLE_CLIENT;
}

static __always_inline void publish_client(struct dt_conn *c)
{
	struct dt_client_end k;
	__u8 one = 1;

	if (c->client_published || !conn_is_client(c))
		return;
	client_end_of(&k, c->tuple.local_addr, c->tuple.local_port, c->tuple.family);
	/* counted before the update: a reader never sees the entry with a 0 count */
	__sync_fetch_and_add(&client_ends_live, 1);
	if (!bpf_map_update_elem(&client_ends, &k, &one, BPF_ANY))
		c->client_published = 1;
	else
		__sync_fetch_and_sub(&client_ends_live, 1);
}

static __always_inline int conn_is_server(const struct dt_conn *c)
{
	return c->protocol == DT_PROTO_HTTP1 && c->st.http1.role == HTTP_ROLE_SERVER;
}

/* Is k a target's client connection's end? Looked up only while some are
 * published (client_ends_live). */
static __always_inline int client_end_known(const struct dt_client_end *k)
{
	return client_ends_live && bpf_map_lookup_elem(&client_ends, k) != 0;
}

/* Is the other end of this connection a target's client connection? */
static __always_inline int peer_traced(const struct dt_tuple *t)
{
	struct dt_client_end k;

	client_end_of(&k, t->peer_addr, t->peer_port, t->family);
	return client_end_known(&k);
}

#endif
