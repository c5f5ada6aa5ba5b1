/* Kernel-internal types the LSM programs read, declared minimally for CO-RE.
 *
 * Why not a generated vmlinux.h: the build must not depend on the build machine's kernel, and a
 * checked-in 6 MB dump would pin one kernel's layout. uapi types (enum bpf_cmd, union bpf_attr)
 * come from linux-libc-dev (6.12 headers); the few internal structs below carry
 * preserve_access_index, so libbpf relocates every field access against the target kernel's BTF
 * at load time. Only fields that exist in every kernel from 6.9 on are declared.
 */
#pragma once

#include <linux/types.h>
#include <linux/bpf.h>

struct user_namespace;

struct bpf_token {
	struct user_namespace *userns;
	__u64 allowed_cmds;
	__u64 allowed_maps;
	__u64 allowed_progs;
	__u64 allowed_attachs;
	void *security;
} __attribute__((preserve_access_index));

struct task_struct {
	int tgid;
	struct task_struct *real_parent;
} __attribute__((preserve_access_index));
