/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* SipHash-2-4 over 8-byte words, for BPF programs: how tokenwarden hashes path components (the
 * encoding is in tw_abi.h), shared with the bench's floor that does the same reads. */
#ifndef TW_SIPHASH_H
#define TW_SIPHASH_H

struct sip {
	__u64 v0, v1, v2, v3;
};

#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static __always_inline void sip_round(struct sip *s)
{
	s->v0 += s->v1; s->v1 = SIP_ROTL(s->v1, 13); s->v1 ^= s->v0; s->v0 = SIP_ROTL(s->v0, 32);
	s->v2 += s->v3; s->v3 = SIP_ROTL(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = SIP_ROTL(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = SIP_ROTL(s->v1, 17); s->v1 ^= s->v2; s->v2 = SIP_ROTL(s->v2, 32);
}

static __always_inline void sip_init(struct sip *s, const __u64 key[2])
{
	s->v0 = key[0] ^ 0x736f6d6570736575ULL;
	s->v1 = key[1] ^ 0x646f72616e646f6dULL;
	s->v2 = key[0] ^ 0x6c7967656e657261ULL;
	s->v3 = key[1] ^ 0x7465646279746573ULL;
}

static __always_inline void sip_word(struct sip *s, __u64 m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

/* The hash of what was fed so far (`words` 8-byte words); the state is left as it was. */
static __always_inline __u64 sip_final(const struct sip *in, __u64 words)
{
	struct sip s = *in;
	__u64 b = (words * 8) << 56;
	s.v3 ^= b;
	sip_round(&s);
	sip_round(&s);
	s.v0 ^= b;
	s.v2 ^= 0xff;
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* Feeds one path component, a NUL-terminated kernel string, to the hash: its length, then its
 * bytes in words. `buf` holds TW_NAME_LEN bytes (tw_abi.h). Returns the words fed, or -1 when the
 * name cannot be read. */
static __always_inline int sip_component(struct sip *s, char *buf, __u64 kname)
{
	long n = bpf_probe_read_kernel_str(buf, TW_NAME_LEN, (const void *)kname);
	if (n <= 0 || n > TW_NAME_LEN)
		return -1;
	__u32 len = (__u32)n - 1;
	sip_word(s, len);
	int words = 1;
	for (int i = 0; i < TW_NAME_LEN / 8; i++) {
		if ((__u32)i * 8 >= len)
			break;
		__u64 m;
		__builtin_memcpy(&m, &buf[i * 8], 8);
		__u32 rest = len - (__u32)i * 8;
		if (rest < 8)
			m &= (1ULL << (rest * 8)) - 1; /* what follows the NUL is the previous name's */
		sip_word(s, m);
		words++;
	}
	return words;
}

#endif
