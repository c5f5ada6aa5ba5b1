/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The baseline for bench/hooks_bench.sh: a program on each of tokenwarden's hooks that decides
 * nothing and returns 0, so that the cost of tokenwarden's programs can be given as a ratio. */
#include "tw_kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("lsm/bpf_token_create")
int BPF_PROG(t_token_create, struct bpf_token *token, union bpf_attr *attr, const struct path *path) { return 0; }

SEC("lsm/bpf_token_free")
int BPF_PROG(t_token_free, struct bpf_token *token) { return 0; }

SEC("lsm/bpf_token_cmd")
int BPF_PROG(t_token_cmd, const struct bpf_token *token, enum bpf_cmd cmd) { return 0; }

SEC("lsm/bpf_token_capable")
int BPF_PROG(t_token_capable, const struct bpf_token *token, int cap) { return 0; }

SEC("lsm/bpf_map_create")
int BPF_PROG(t_map_create, struct bpf_map *map, union bpf_attr *attr, struct bpf_token *token) { return 0; }

SEC("lsm/bpf_prog_load")
int BPF_PROG(t_prog_load, struct bpf_prog *prog, union bpf_attr *attr, struct bpf_token *token) { return 0; }

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
