/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* An XDP program for the real-system flavour: what an XDP-only profile allows. libbpf still loads
 * its probes (a socket filter first) through the token before it loads this. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
