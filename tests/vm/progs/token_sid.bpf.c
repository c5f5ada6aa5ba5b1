/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* For the VM case selinux_module_legacy: the SELinux label (SID) the kernel stamps on each token
 * and on each map, as SELinux's own hooks left them (the BPF LSM runs after SELinux in the
 * guest's lsm= order). On 6.9-6.17 `security` points to SELinux's struct bpf_security_struct,
 * whose first member is the SID. Recorded per creating process. */
#include "tw_kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct bpf_map___sec {
	void *security;
} __attribute__((preserve_access_index));

struct sids {
	__u32 token_sid;
	__u32 map_sid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32); /* tgid */
	__type(value, struct sids);
} sids SEC(".maps");

static __always_inline struct sids *mine(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sids *s = bpf_map_lookup_elem(&sids, &tgid);
	if (s)
		return s;
	struct sids zero = {};
	bpf_map_update_elem(&sids, &tgid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sids, &tgid);
}

static __always_inline __u32 sid_at(const void *security)
{
	__u32 sid = 0;
	if (security)
		bpf_probe_read_kernel(&sid, sizeof(sid), security);
	return sid;
}

SEC("lsm/bpf_token_create")
int BPF_PROG(ts_token_create, struct bpf_token *token, union bpf_attr *attr, const struct path *path)
{
	struct sids *s = mine();
	if (s)
		s->token_sid = sid_at(BPF_CORE_READ(token, security));
	return 0;
}

SEC("lsm/bpf_map_create")
int BPF_PROG(ts_map_create, struct bpf_map *map, union bpf_attr *attr, struct bpf_token *token)
{
	struct sids *s = mine();
	if (s)
		s->map_sid = sid_at(BPF_CORE_READ((struct bpf_map___sec *)map, security));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
