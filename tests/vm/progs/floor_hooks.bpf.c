/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The floors for bench/hooks_bench.sh: the least a per-token policy on these hooks must do.
 *
 * The floor (policy_reads == 0). The BPF LSM has no security blob on struct bpf_token, so
 * per-token state lives in a hash map keyed by the token's address: each use of a token costs
 * that one lookup. These programs do just that (and read the token argument the way tokenwarden
 * must where it may be NULL), decide nothing and return 0.
 *
 * The policy's floor (policy_reads == 1): what the bench's policy needs read and written, and
 * nothing else, in the cheapest form. At bpf_token_create: the creator's uid and comm, its cgroup
 * path hashed down to the level the policy's `under` names (under_levels), one index lookup per
 * attribute the policy tests, the profile's live count (atomically, for `limit tokens`), and a
 * record of tokenwarden's size. At each use: the record, the operation's fields the rules test,
 * and the counts (the maps and programs made through it atomically, for its quotas). At
 * bpf_token_free: the record's counts folded into the profile's, and its live count given back. tokenwarden's cost is reported against both. */
#include "tw_kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "tw_abi.h"
#include "tw_siphash.h"

const volatile __u32 policy_reads = 0;
const volatile __u32 under_levels = 0; /* 1 + the deepest level the policy's `under` names */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tw_token);
} tokens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct tw_index_key);
	__type(value, __u64);
} policy_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct tw_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __s64);
} live SEC(".maps");

/* The record being built and the component being read: too big for the stack. */
struct scratch {
	struct tw_token t;
	char name[TW_NAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline __u64 arg_u64(unsigned long long *ctx, int n)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &ctx[n]);
	return v;
}

static __always_inline void index_lookup(__u32 attr, __u64 v0, __u64 v1)
{
	struct tw_index_key k = {.attr = attr, .v0 = v0, .v1 = v1};
	bpf_map_lookup_elem(&policy_index, &k);
}

/* The creator's cgroup path from the root, hashed down to under_levels - 1, each prefix looked up. */
static __always_inline void cgroup_under(struct scratch *s)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (!cg)
		return;
	int level = BPF_CORE_READ(cg, level);
	const __u64 key[2] = {1, 2};
	struct sip h;
	__u64 words = 0;
	sip_init(&h, key);
	for (int i = 0; i < 8; i++) {
		if (i >= under_levels || i > level)
			break;
		index_lookup(TW_ATTR_CGROUP_UNDER, sip_final(&h, words), i);
		struct cgroup *anc = 0;
		__u64 at = (__u64)cg + bpf_core_field_offset(struct cgroup, ancestors) + (__u64)(i + 1) * sizeof(void *);
		if (bpf_probe_read_kernel(&anc, sizeof(anc), (const void *)at) || !anc)
			break;
		int n = sip_component(&h, s->name, (__u64)BPF_CORE_READ(anc, kn, name));
		if (n < 0)
			break;
		words += n;
	}
}

SEC("lsm/bpf_token_create")
int BPF_PROG(f_token_create, struct bpf_token *token, union bpf_attr *attr, const struct path *path)
{
	__u64 key = (__u64)token;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	__builtin_memset(&s->t, 0, sizeof(s->t));
	s->t.generation = 1;
	s->t.rules.cmds = ~0ULL;
	s->t.rules.caps = ~0ULL;
	s->t.rules.maps = ~0ULL;
	s->t.rules.progs = ~0ULL;
	s->t.rules.attachs = ~0ULL;
	for (int i = 0; i < TW_LIM_COUNT; i++)
		s->t.rules.limits[i] = 0xffffffff;
	if (policy_reads) {
		__u64 uid_gid = bpf_get_current_uid_gid();
		char comm[TW_COMM_LEN] = {};
		bpf_get_current_comm(comm, sizeof(comm));
		__u64 c0, c1;
		__builtin_memcpy(&c0, comm, 8);
		__builtin_memcpy(&c1, comm + 8, 8);
		index_lookup(TW_ATTR_UID, (__u32)uid_gid, 0);
		index_lookup(TW_ATTR_COMM, c0, c1);
		cgroup_under(s);
		s->t.profile_id = 1;
		__s64 *n = bpf_map_lookup_elem(&live, &s->t.profile_id);
		if (!n) {
			__s64 zero = 0;
			bpf_map_update_elem(&live, &s->t.profile_id, &zero, BPF_NOEXIST);
			n = bpf_map_lookup_elem(&live, &s->t.profile_id);
		}
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	bpf_map_update_elem(&tokens, &key, &s->t, BPF_ANY);
	return 0;
}

SEC("lsm/bpf_token_free")
int BPF_PROG(f_token_free, struct bpf_token *token)
{
	__u64 key = (__u64)token;
	if (policy_reads) {
		struct tw_token *t = bpf_map_lookup_elem(&tokens, &key);
		if (!t)
			return 0;
		struct tw_counters *c = bpf_map_lookup_elem(&counters, &t->profile_id);
		if (!c) {
			struct tw_counters fresh = {};
			bpf_map_update_elem(&counters, &t->profile_id, &fresh, BPF_NOEXIST);
			c = bpf_map_lookup_elem(&counters, &t->profile_id);
		}
		if (c)
			for (int h = 0; h < TW_HOOK_COUNT; h++)
				c->allowed[h] += t->allowed[h];
		__s64 *n = bpf_map_lookup_elem(&live, &t->profile_id);
		if (n)
			__sync_fetch_and_sub(n, 1);
	}
	bpf_map_delete_elem(&tokens, &key);
	return 0;
}

static __always_inline struct tw_token *use(__u64 key, __u32 bit, int hook)
{
	struct tw_token *t = bpf_map_lookup_elem(&tokens, &key);
	if (!t || bit >= 64 || !(t->rules.cmds & (1ULL << bit)))
		return 0;
	if (policy_reads && hook >= 0 && hook < TW_HOOK_COUNT)
		t->allowed[hook]++;
	return t;
}

SEC("lsm/bpf_token_cmd")
int BPF_PROG(f_token_cmd, const struct bpf_token *token, enum bpf_cmd cmd)
{
	use((__u64)token, cmd, TW_HOOK_TOKEN_CMD);
	return 0;
}

SEC("lsm/bpf_token_capable")
int BPF_PROG(f_token_capable, const struct bpf_token *token, int cap)
{
	use((__u64)token, cap, TW_HOOK_TOKEN_CAPABLE);
	return 0;
}

SEC("lsm/bpf_map_create")
int BPF_PROG(f_map_create, struct bpf_map *map, union bpf_attr *attr, struct bpf_token *token)
{
	__u64 key = arg_u64(ctx, 2);
	struct tw_token *t = key ? use(key, attr->map_type & 63, TW_HOOK_MAP_CREATE) : 0;
	if (t && policy_reads && attr->max_entries <= t->rules.limits[TW_LIM_MAX_ENTRIES] &&
	    attr->key_size <= t->rules.limits[TW_LIM_KEY_SIZE] && attr->value_size <= t->rules.limits[TW_LIM_VALUE_SIZE] &&
	    !(attr->map_flags & t->rules.forbidden_map_flags))
		__sync_fetch_and_add(&t->maps, 1);
	return 0;
}

/* Before 7.x the hook gets no token (bpf_prog_load() has moved it into prog->aux->token): any
 * per-token policy must read it there, so the floor does too. */
SEC("lsm/bpf_prog_load")
int BPF_PROG(f_prog_load, struct bpf_prog *prog, union bpf_attr *attr, struct bpf_token *token)
{
	__u64 key = arg_u64(ctx, 2);
	if (!key)
		key = (__u64)prog->aux->token;
	struct tw_token *t = key ? use(key, attr->prog_type & 63, TW_HOOK_PROG_LOAD) : 0;
	if (t && policy_reads && (t->rules.attachs & (1ULL << (attr->expected_attach_type & 63))) &&
	    attr->insn_cnt <= t->rules.limits[TW_LIM_INSNS] && !(attr->prog_flags & (1U << 4) /* BPF_F_SLEEPABLE */))
		__sync_fetch_and_add(&t->progs, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
