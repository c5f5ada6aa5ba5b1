// SPDX-License-Identifier: Apache-2.0
// Reading facts from a kernel's BTF (the running kernel's /sys/kernel/btf/vmlinux by default):
// enum tables for the catalogue cross-check and for parsing delegate options the way the kernel
// does, and function prototypes of the LSM hooks (presence and arity).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vocab/catalogue.h"
#include "result.h"

struct btf;

namespace tw::kernel {

class KernelBtf {
 public:
  static Result<KernelBtf> load(const std::string& path = "/sys/kernel/btf/vmlinux");

  // The enum (bpf_cmd, ...) as this kernel declares it; nullopt if missing.
  std::optional<vocab::EnumTable> enum_table(vocab::EnumKind kind) const;
  // Number of parameters of a FUNC (e.g. "bpf_lsm_bpf_map_create"); nullopt if absent.
  std::optional<int> func_arity(const std::string& name) const;
  // BTF type id of a FUNC, for attach_btf_id.
  std::optional<uint32_t> func_id(const std::string& name) const;
  bool has_struct(const std::string& name) const;
  // Byte size of a struct, if present.
  std::optional<uint32_t> struct_size(const std::string& name) const;

 private:
  std::shared_ptr<::btf> btf_;
};

}  // namespace tw::kernel
