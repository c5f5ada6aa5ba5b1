// SPDX-License-Identifier: Apache-2.0
#include "btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>

namespace tw::kernel {

Result<KernelBtf> KernelBtf::load(const std::string& path) {
  ::btf* b = btf__parse(path.c_str(), nullptr);
  if (!b) return errno_error("read BTF", path);
  KernelBtf k;
  k.btf_.reset(b, btf__free);
  return k;
}

std::optional<vocab::EnumTable> KernelBtf::enum_table(vocab::EnumKind kind) const {
  std::string enum_name(vocab::btf_enum_name(kind));
  int id = btf__find_by_name_kind(btf_.get(), enum_name.c_str(), BTF_KIND_ENUM);
  if (id < 0) return std::nullopt;
  const btf_type* t = btf__type_by_id(btf_.get(), static_cast<__u32>(id));
  const struct btf_enum* e = btf_enum(t);
  std::string prefix(vocab::kernel_prefix(kind));
  vocab::EnumTable table;
  table.kind = kind;
  for (int i = 0; i < btf_vlen(t); ++i) {
    std::string name = btf__name_by_offset(btf_.get(), e[i].name_off);
    uint32_t value = static_cast<uint32_t>(e[i].val);
    if (name.rfind("__MAX_", 0) == 0) {
      table.max = value;
      continue;
    }
    if (name.size() <= prefix.size() || vocab::to_upper(name.substr(0, prefix.size())) != prefix) continue;
    // Not a value a delegate_* mask can hold: a flag (BPF_COMMON_ATTRS = 1 << 16, 7.3).
    if (value >= 64) continue;
    table.entries.push_back({name.substr(prefix.size()), value});
  }
  return table;
}

std::optional<uint32_t> KernelBtf::func_id(const std::string& name) const {
  int id = btf__find_by_name_kind(btf_.get(), name.c_str(), BTF_KIND_FUNC);
  if (id < 0) return std::nullopt;
  return static_cast<uint32_t>(id);
}

std::optional<int> KernelBtf::func_arity(const std::string& name) const {
  auto id = func_id(name);
  if (!id) return std::nullopt;
  const btf_type* func = btf__type_by_id(btf_.get(), *id);
  const btf_type* proto = btf__type_by_id(btf_.get(), func->type);
  if (!proto || !btf_is_func_proto(proto)) return std::nullopt;
  return btf_vlen(proto);
}

bool KernelBtf::has_struct(const std::string& name) const {
  return btf__find_by_name_kind(btf_.get(), name.c_str(), BTF_KIND_STRUCT) > 0;
}

std::optional<uint32_t> KernelBtf::struct_size(const std::string& name) const {
  int id = btf__find_by_name_kind(btf_.get(), name.c_str(), BTF_KIND_STRUCT);
  if (id < 0) return std::nullopt;
  return btf__type_by_id(btf_.get(), static_cast<__u32>(id))->size;
}

}  // namespace tw::kernel
