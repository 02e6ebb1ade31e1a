/* Where a connection's open streams are kept, behind four functions that
 * the frame follower (follow.h) uses on both sides, so host and kernel
 * share every frame rule:
 *
 *   h2_find(c, id)          the open stream id, 0 if not followed
 *   h2_new(c, id)           a zeroed stream with its id, 0 when none is free
 *   h2_free(c, st)          forgets an open stream
 *   h2_first_above(c, id)   an open stream whose id is above id, 0 if none
 *
 * The host keeps a table of H2_MAX_STREAMS in struct h2_conn. The kernel
 * keeps every connection's streams in one LRU hash keyed by {conn key,
 * stream id}: no loop over a table while a frame is followed (the verifier
 * walked more than 1,000,000 instructions for the table's loops inside the
 * follower's bpf_loop callback), and no fixed number per connection. */
#ifndef DIFFTRACE_HTTP2_STREAM_STORE_H
#define DIFFTRACE_HTTP2_STREAM_STORE_H

#include "protocols/http2/stream.h"

#ifdef __bpf__

/* Streams open at once over all connections. */
#define H2_MAX_LIVE_STREAMS 8192

struct h2_stream_key {
	__u64 conn;  /* struct h2_conn.key */
	__u32 id;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, H2_MAX_LIVE_STREAMS);
	__type(key, struct h2_stream_key);
	__type(value, struct h2_stream);
} h2_streams SEC(".maps");

DT_INLINE struct h2_stream *h2_find(struct h2_conn *c, __u32 id)
{
	struct h2_stream_key k = {.conn = c->key, .id = id};

	if (!id)
		return 0;
	return bpf_map_lookup_elem(&h2_streams, &k);
}

DT_INLINE struct h2_stream *h2_new(struct h2_conn *c, __u32 id)
{
	struct h2_stream_key k = {.conn = c->key, .id = id};
	struct h2_stream st = {.id = id};

	if (bpf_map_update_elem(&h2_streams, &k, &st, BPF_ANY))
		return 0;
	c->open++;
	return bpf_map_lookup_elem(&h2_streams, &k);
}

DT_INLINE void h2_free(struct h2_conn *c, struct h2_stream *st)
{
	struct h2_stream_key k = {.conn = c->key, .id = st->id};

	bpf_map_delete_elem(&h2_streams, &k);
	if (c->open)
		c->open--;
}

struct h2_store_walk {
	__u64 conn;
	__u32 above;
	__u32 found; /* the stream id found, 0: none */
};

static long h2_store_step(struct bpf_map *map, struct h2_stream_key *k, struct h2_stream *st,
			  struct h2_store_walk *w)
{
	if (k->conn != w->conn || k->id <= w->above)
		return 0;
	w->found = k->id;
	return 1;
}

/* A walk over every connection's streams: for a GOAWAY and a close only,
 * and only while the connection has streams open. */
DT_INLINE struct h2_stream *h2_first_above(struct h2_conn *c, __u32 above)
{
	struct h2_store_walk w = {.conn = c->key, .above = above};

	if (!c->open)
		return 0;
	bpf_for_each_map_elem(&h2_streams, h2_store_step, &w, 0);
	if (!w.found) {
		c->open = 0; /* the LRU took them */
		return 0;
	}
	return h2_find(c, w.found);
}

#else

DT_INLINE struct h2_stream *h2_find(struct h2_conn *c, __u32 id)
{
	int i;
	if (!id)
		return 0;
	for (i = 0; i < H2_MAX_STREAMS; i++)
		if (c->streams[i].id == id)
			return &c->streams[i];
	return 0;
}

DT_INLINE struct h2_stream *h2_new(struct h2_conn *c, __u32 id)
{
	int k;
	for (k = 0; k < H2_MAX_STREAMS; k++) {
		struct h2_stream *st = &c->streams[k];
		if (st->id)
			continue;
		memset(st, 0, sizeof(*st));
		st->id = id;
		c->open++;
		return st;
	}
	return 0;
}

DT_INLINE void h2_free(struct h2_conn *c, struct h2_stream *st)
{
	memset(st, 0, sizeof(*st));
	if (c->open)
		c->open--;
}

DT_INLINE struct h2_stream *h2_first_above(struct h2_conn *c, __u32 above)
{
	int i;
	for (i = 0; i < H2_MAX_STREAMS; i++)
		if (c->streams[i].id && c->streams[i].id > above)
			return &c->streams[i];
	return 0;
}

#endif

#endif /* DIFFTRACE_HTTP2_STREAM_STORE_H */
