/* HPACK's Huffman code (RFC 7541 appendix B), decoded symbol by symbol in
 * plain C for the kernel and the host: a :path value, up to H2S_PATH_MAX
 * bytes of it, for the endpoint key and the kept span.
 *
 * The code is canonical: codes of one length are consecutive, in the order
 * of their symbols, and each length's first code follows the last of the
 * shorter ones. So 21 groups (length, first code, where its symbols start
 * in h2_huff_syms) and the symbols sorted by (length, value) are the whole
 * table: a symbol is found by the first group whose last code, aligned left
 * in 32 bits, lies above the next 32 bits of input. (Tables derived from the
 * RFC's code lengths; tests/unit/test_hpack_shadow.cpp checks every symbol
 * against libnghttp2's encoder.) */
#ifndef DIFFTRACE_HTTP2_HUFFMAN_H
#define DIFFTRACE_HTTP2_HUFFMAN_H

#include "protocols/http2/frame.h"

#define H2_HUFF_GROUPS 21
#define H2_HUFF_EOS 256

struct h2_huff_group {
	__u64 limit;  /* one past the group's last code, aligned left in 32 bits */
	__u32 first;  /* its first code */
	__u16 off;    /* its first symbol's place in h2_huff_syms (EOS: 256) */
	__u16 len;    /* its codes' length in bits */
};

static const struct h2_huff_group h2_huff_groups[H2_HUFF_GROUPS] = {
	{0x50000000ull, 0x0, 0, 5},
	{0xb8000000ull, 0x14, 10, 6},
	{0xf8000000ull, 0x5c, 36, 7},
	{0xfe000000ull, 0xf8, 68, 8},
	{0xff400000ull, 0x3f8, 74, 10},
	{0xffa00000ull, 0x7fa, 79, 11},
	{0xffc00000ull, 0xffa, 82, 12},
	{0xfff00000ull, 0x1ff8, 84, 13},
	{0xfff80000ull, 0x3ffc, 90, 14},
	{0xfffe0000ull, 0x7ffc, 92, 15},
	{0xfffe6000ull, 0x7fff0, 95, 19},
	{0xfffee000ull, 0xfffe6, 98, 20},
	{0xffff4800ull, 0x1fffdc, 106, 21},
	{0xffffb000ull, 0x3fffd2, 119, 22},
	{0xffffea00ull, 0x7fffd8, 145, 23},
	{0xfffff600ull, 0xffffea, 174, 24},
	{0xfffff800ull, 0x1ffffec, 186, 25},
	{0xfffffbc0ull, 0x3ffffe0, 190, 26},
	{0xfffffe20ull, 0x7ffffde, 205, 27},
	{0xfffffff0ull, 0xfffffe2, 224, 28},
	{0x100000000ull, 0x3ffffffc, 253, 30},
};

/* Symbols by (code length, value); EOS, the last (256), is not a byte. */
static const __u8 h2_huff_syms[256] = {
	48, 49, 50, 97, 99, 101, 105, 111, 115, 116, 32, 37, 45, 46, 47, 51,
	52, 53, 54, 55, 56, 57, 61, 65, 95, 98, 100, 102, 103, 104, 108, 109,
	110, 112, 114, 117, 58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
	77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 89, 106, 107, 113, 118,
	119, 120, 121, 122, 38, 42, 44, 59, 88, 90, 33, 34, 40, 41, 63, 39,
	43, 124, 35, 62, 0, 36, 64, 91, 93, 126, 94, 125, 60, 96, 123, 92,
	195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161, 167, 172, 176, 177,
	179, 209, 216, 217, 227, 229, 230, 129, 132, 133, 134, 136, 146, 154, 156, 160,
	163, 164, 169, 170, 173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232,
	233, 1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151, 152, 155, 157,
	158, 165, 166, 168, 174, 175, 180, 182, 183, 188, 191, 197, 231, 239, 9, 142,
	144, 145, 148, 159, 171, 206, 215, 225, 236, 237, 199, 207, 234, 235, 192, 193,
	200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255, 203, 204, 211,
	212, 214, 221, 222, 223, 241, 244, 245, 246, 247, 248, 250, 251, 252, 253, 254,
	2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20,
	21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220, 249, 10, 13, 22,
};

/* The symbol whose code starts the 32 bits v: its value (H2_HUFF_EOS for
 * EOS) | its length << 16. A global function in BPF, with a scalar
 * argument: the group search is verified once, not in each caller's loop. */
DT_GLOBAL int h2_huff_symbol(__u32 v)
{
	__u32 i, idx;

	DT_NO_UNROLL
	for (i = 0; i < H2_HUFF_GROUPS; i++) {
		const struct h2_huff_group *g = &h2_huff_groups[i];

		if ((__u64)v < g->limit) {
			idx = g->off + ((v >> (32 - g->len)) - g->first);
			if (idx >= H2_HUFF_EOS)
				return H2_HUFF_EOS | (g->len << 16);
			return h2_huff_syms[idx & 255] | (g->len << 16);
		}
	}
	return H2_HUFF_EOS | (30 << 16); /* never: the last group's limit is 2^32 */
}

#endif /* DIFFTRACE_HTTP2_HUFFMAN_H */
