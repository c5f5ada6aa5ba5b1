// SPDX-License-Identifier: Apache-2.0
#include "bpf.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <fmt/format.h>

#include <unistd.h>

#include <fstream>
#include <memory>

namespace tw::kernel {
namespace {

// libbpf (1.0 mode) returns -errno and sets errno.
Error libbpf_error(std::string op, int ret, std::string detail = {}) {
  return Error{std::move(op), ret < 0 ? -ret : errno, std::move(detail)};
}

std::string last_line(const std::string& log) {
  size_t end = log.find_last_not_of("\n \0", std::string::npos, 3);
  if (end == std::string::npos) return {};
  size_t start = log.rfind('\n', end);
  return log.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

Result<UniqueFd> token_create(int bpffs_fd) {
  LIBBPF_OPTS(bpf_token_create_opts, opts);
  int fd = bpf_token_create(bpffs_fd, &opts);
  if (fd < 0) return libbpf_error("BPF_TOKEN_CREATE", fd);
  return UniqueFd(fd);
}

Result<UniqueFd> map_create(const MapSpec& spec, int token_fd) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = spec.flags);
  if (token_fd >= 0) {
    opts.token_fd = static_cast<__u32>(token_fd);
    opts.map_flags |= BPF_F_TOKEN_FD;
  }
  int fd = bpf_map_create(static_cast<bpf_map_type>(spec.type),
                          spec.name.empty() ? nullptr : spec.name.c_str(), spec.key_size,
                          spec.value_size, spec.max_entries, &opts);
  if (fd < 0) return libbpf_error("BPF_MAP_CREATE", fd);
  return UniqueFd(fd);
}

Result<UniqueFd> prog_load(const ProgSpec& spec, int token_fd) {
  std::vector<bpf_insn> insns = spec.insns;
  if (insns.empty()) {
    insns.push_back(bpf_insn{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0});
    insns.push_back(bpf_insn{BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
  }
  std::string log(16 * 1024, '\0');
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.prog_flags = spec.flags;
  opts.expected_attach_type = static_cast<bpf_attach_type>(spec.expected_attach_type);
  opts.attach_btf_id = spec.attach_btf_id;
  opts.log_level = 1;
  opts.log_size = static_cast<__u32>(log.size());
  opts.log_buf = log.data();
  if (token_fd >= 0) {
    opts.token_fd = static_cast<__u32>(token_fd);
    opts.prog_flags |= BPF_F_TOKEN_FD;
  }
  int fd = bpf_prog_load(static_cast<bpf_prog_type>(spec.type),
                         spec.name.empty() ? nullptr : spec.name.c_str(), spec.license.c_str(),
                         insns.data(), insns.size(), &opts);
  if (fd < 0) return libbpf_error("BPF_PROG_LOAD", fd, last_line(log.c_str()));
  return UniqueFd(fd);
}

Result<UniqueFd> btf_load(std::span<const uint8_t> raw_btf, int token_fd) {
  LIBBPF_OPTS(bpf_btf_load_opts, opts);
  if (token_fd >= 0) {
    opts.token_fd = static_cast<__u32>(token_fd);
    opts.btf_flags |= BPF_F_TOKEN_FD;
  }
  int fd = bpf_btf_load(raw_btf.data(), raw_btf.size(), &opts);
  if (fd < 0) return libbpf_error("BPF_BTF_LOAD", fd);
  return UniqueFd(fd);
}

std::vector<uint8_t> minimal_btf() {
  std::unique_ptr<btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  if (!b) return {};
  btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  __u32 size = 0;
  auto* data = static_cast<const uint8_t*>(btf__raw_data(b.get(), &size));
  return std::vector<uint8_t>(data, data + size);
}

Status obj_pin(int fd, const std::string& path) {
  int ret = bpf_obj_pin(fd, path.c_str());
  if (ret < 0) return libbpf_error("BPF_OBJ_PIN", ret, path);
  return ok_status();
}

Result<UniqueFd> obj_get(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return libbpf_error("BPF_OBJ_GET", fd, path);
  return UniqueFd(fd);
}

Status unpin(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_error("unpin", path);
  return ok_status();
}

Result<TokenInfo> token_info(int token_fd) {
  // struct bpf_token_info is newer than our 6.12 uapi headers: four u64 masks (Linux 6.17+).
  __u64 raw[4] = {};
  __u32 len = sizeof(raw);
  int ret = bpf_obj_get_info_by_fd(token_fd, raw, &len);
  if (ret < 0) return libbpf_error("BPF_OBJ_GET_INFO_BY_FD(token)", ret);
  return TokenInfo{raw[0], raw[1], raw[2], raw[3]};
}

Result<std::map<std::string, std::string>> fdinfo(int fd) {
  std::string path = fmt::format("/proc/self/fdinfo/{}", fd);
  std::ifstream in(path);
  if (!in) return errno_error("open", path);
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto v = line.find_first_not_of(" \t", colon + 1);
    out[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
  }
  return out;
}

}  // namespace tw::kernel
