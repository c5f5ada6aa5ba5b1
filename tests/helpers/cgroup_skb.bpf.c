/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* A cgroup_skb program for the real-system flavour: what examples/systemd-service.tw's flowlogd
 * loads (attach type cgroup_inet_ingress). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
