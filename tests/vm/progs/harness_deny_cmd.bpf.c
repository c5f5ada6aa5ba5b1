/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* VM harness program: on bpf_token_cmd, deny one BPF command for the test process and its direct
 * children only (the token user is the child that run_in_delegated_userns forks). Proves the
 * harness can attach BPF LSM programs to token hooks; the product's programs live in lsm-progs/. */
#include "tw_kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

const volatile __u32 target_tgid = 0;
const volatile __u32 denied_cmd = BPF_MAP_CREATE;

__u64 calls = 0;  /* hook invocations in scope */
__u64 denials = 0;

static __always_inline int in_scope(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return tgid == target_tgid || (__u32)BPF_CORE_READ(task, real_parent, tgid) == target_tgid;
}

SEC("lsm/bpf_token_cmd")
int BPF_PROG(harness_token_cmd, const struct bpf_token *token, enum bpf_cmd cmd)
{
	if (!in_scope())
		return 0;
	__sync_fetch_and_add(&calls, 1);
	if (cmd == denied_cmd) {
		__sync_fetch_and_add(&denials, 1);
		return -1; /* -EPERM: the kernel drops the token, the syscall fails with EPERM */
	}
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
