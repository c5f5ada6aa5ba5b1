/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A tiny libbpf object for `tw-token-demo --libbpf`: one array map and one socket filter.
 * Loaded through the skeleton with no explicit token, so libbpf must pick the token up from
 * /sys/fs/bpf (or LIBBPF_BPF_TOKEN_PATH) by itself. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} demo_counter SEC(".maps");

SEC("socket")
int demo_filter(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&demo_counter, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
