/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The floor for bench/hooks_bench.sh: the least any per-token policy on these hooks must do. The
 * BPF LSM has no security blob on struct bpf_token, so per-token state lives in a hash map keyed
 * by the token's address: each use of a token costs that one lookup. These programs do just
 * that (and read the token argument the way tokenwarden must where it may be NULL), decide
 * nothing and return 0. tokenwarden's cost is reported against this and against trivial_hooks. */
#include "tw_kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct state {
	__u64 label, generation, masks[5];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct state);
} tokens SEC(".maps");

static __always_inline int use(__u64 key, __u32 bit)
{
	struct state *s = bpf_map_lookup_elem(&tokens, &key);
	return s && bit < 64 && !(s->masks[0] & (1ULL << bit)) ? 0 : 0;
}

static __always_inline __u64 arg_u64(unsigned long long *ctx, int n)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &ctx[n]);
	return v;
}

SEC("lsm/bpf_token_create")
int BPF_PROG(f_token_create, struct bpf_token *token, union bpf_attr *attr, const struct path *path)
{
	__u64 key = (__u64)token;
	struct state s = {.label = 1, .masks = {~0ULL}};
	bpf_map_update_elem(&tokens, &key, &s, BPF_ANY);
	return 0;
}

SEC("lsm/bpf_token_free")
int BPF_PROG(f_token_free, struct bpf_token *token)
{
	__u64 key = (__u64)token;
	bpf_map_delete_elem(&tokens, &key);
	return 0;
}

SEC("lsm/bpf_token_cmd")
int BPF_PROG(f_token_cmd, const struct bpf_token *token, enum bpf_cmd cmd) { return use((__u64)token, cmd); }

SEC("lsm/bpf_token_capable")
int BPF_PROG(f_token_capable, const struct bpf_token *token, int cap) { return use((__u64)token, cap); }

SEC("lsm/bpf_map_create")
int BPF_PROG(f_map_create, struct bpf_map *map, union bpf_attr *attr, struct bpf_token *token)
{
	__u64 key = arg_u64(ctx, 2);
	return key ? use(key, attr->map_type) : 0;
}

/* Before 7.x the hook gets no token (bpf_prog_load() has moved it into prog->aux->token): any
 * per-token policy must read it there, so the floor does too. */
SEC("lsm/bpf_prog_load")
int BPF_PROG(f_prog_load, struct bpf_prog *prog, union bpf_attr *attr, struct bpf_token *token)
{
	__u64 key = arg_u64(ctx, 2);
	if (!key)
		key = (__u64)prog->aux->token;
	return key ? use(key, attr->prog_type) : 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
