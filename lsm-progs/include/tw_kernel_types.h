// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
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

typedef struct {
	__u32 val;
} kuid_t;

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct user_namespace {
	struct ns_common ns;
	int level;
	kuid_t owner;
} __attribute__((preserve_access_index));

struct super_block {
	__u32 s_dev; /* dev_t: MAJOR << 20 | MINOR */
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct cred {
	struct user_namespace *user_ns;
} __attribute__((preserve_access_index));

struct qstr {
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct dentry {
	struct dentry *d_parent;
	struct inode *d_inode;
	struct qstr d_name;
	struct super_block *d_sb;
} __attribute__((preserve_access_index));

struct vfsmount {
	struct dentry *mnt_root;
} __attribute__((preserve_access_index));

struct mnt_namespace;

/* fs/mount.h: a vfsmount is embedded in its struct mount (container_of through CO-RE). */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
	struct mnt_namespace *mnt_ns;
} __attribute__((preserve_access_index));

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct mm_struct {
	struct file *exe_file;
} __attribute__((preserve_access_index));

struct kernfs_node {
	const char *name;
} __attribute__((preserve_access_index));

/* ancestors[level] is the cgroup itself, ancestors[0] the hierarchy's root (since 6.0). */
struct cgroup {
	int level;
	struct kernfs_node *kn;
	struct cgroup *ancestors[];
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct nsproxy {
	struct mnt_namespace *mnt_ns;
} __attribute__((preserve_access_index));

struct bpf_token;

struct bpf_map {
	__u32 id;
} __attribute__((preserve_access_index));

struct bpf_prog_aux {
	__u32 id;
	struct bpf_token *token;
} __attribute__((preserve_access_index));

struct bpf_prog {
	enum bpf_attach_type expected_attach_type;
	enum bpf_prog_type type;
	struct bpf_prog_aux *aux;
} __attribute__((preserve_access_index));

struct bpf_link {
	__u32 id;
} __attribute__((preserve_access_index));

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
	const struct cred *cred;
	struct task_struct *real_parent;
	struct mm_struct *mm;
	struct nsproxy *nsproxy;
	struct css_set *cgroups;
} __attribute__((preserve_access_index));
