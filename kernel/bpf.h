// SPDX-License-Identifier: Apache-2.0
// bpf(2) operations tokenwarden needs, over libbpf's low-level API, returning owned fds or
// Error values that name the command and errno. Passing a token fd sets BPF_F_TOKEN_FD in the
// matching flags field (map_flags, prog_flags, btf_flags), which libbpf leaves to the caller.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "fd.h"
#include "result.h"

namespace tw::kernel {

// BPF_TOKEN_CREATE. bpffs_fd must be an O_RDONLY fd of the bpffs *root* (openat(mnt_fd, ".")):
// the kernel rejects the O_PATH fd fsmount() returns with EBADF.
Result<UniqueFd> token_create(int bpffs_fd);

struct MapSpec {
  uint32_t type = BPF_MAP_TYPE_ARRAY;
  uint32_t key_size = 4;
  uint32_t value_size = 8;
  uint32_t max_entries = 1;
  uint32_t flags = 0;
  std::string name;
};
Result<UniqueFd> map_create(const MapSpec& spec, int token_fd = -1);

struct ProgSpec {
  uint32_t type = BPF_PROG_TYPE_SOCKET_FILTER;
  uint32_t expected_attach_type = 0;
  uint32_t attach_btf_id = 0;
  uint32_t flags = 0;
  std::vector<bpf_insn> insns;  // empty: "r0 = 0; exit"
  std::string license = "GPL";
  std::string name;
};
// On failure with a log buffer, Error::detail holds the last verifier log line.
Result<UniqueFd> prog_load(const ProgSpec& spec, int token_fd = -1);

Result<UniqueFd> btf_load(std::span<const uint8_t> raw_btf, int token_fd = -1);
// A minimal valid BTF blob (one int type), for BTF_LOAD checks.
std::vector<uint8_t> minimal_btf();

Status obj_pin(int fd, const std::string& path);
Result<UniqueFd> obj_get(const std::string& path);
// Removes a pin (unlink on bpffs); the object lives on while fds or links hold it.
Status unpin(const std::string& path);

// struct bpf_token_info (Linux 6.17+): the token's four masks as the kernel stores them.
struct TokenInfo {
  uint64_t allowed_cmds = 0, allowed_maps = 0, allowed_progs = 0, allowed_attachs = 0;
};
Result<TokenInfo> token_info(int token_fd);

// /proc/self/fdinfo/<fd> as key -> value ("allowed_cmds" -> "0x40021").
Result<std::map<std::string, std::string>> fdinfo(int fd);

}  // namespace tw::kernel
