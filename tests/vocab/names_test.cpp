// SPDX-License-Identifier: Apache-2.0
// The vocabulary's tables against the system headers they mirror, and the names made from them.
#include <doctest/doctest.h>

#include <linux/bpf.h>
#include <linux/capability.h>

#include <cerrno>
#include <set>
#include <string>

#include "compiler/evaluator.h"
#include "compiler/ir.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

using namespace tw;

TEST_CASE("vocab: capability.def and the catalogue's constants are the uapi's numbers") {
  CHECK(vocab::cap::BPF == CAP_BPF);
  CHECK(vocab::cap::PERFMON == CAP_PERFMON);
  CHECK(vocab::cap::NET_ADMIN == CAP_NET_ADMIN);
  CHECK(vocab::cap::SYS_ADMIN == CAP_SYS_ADMIN);
  CHECK(vocab::token_capabilities().size() == 4);
  CHECK(vocab::capability_by_name("perfmon") == CAP_PERFMON);
  CHECK(vocab::cmd::TOKEN_CREATE == BPF_TOKEN_CREATE);
  CHECK(vocab::map::ARRAY == BPF_MAP_TYPE_ARRAY);
  CHECK(vocab::prog::LSM == BPF_PROG_TYPE_LSM);
  CHECK(vocab::attach::LSM_MAC == BPF_LSM_MAC);
}

TEST_CASE("vocab: errno.def's values are the C library's, and names round-trip") {
  const std::pair<const char*, int> expected[] = {{"EPERM", EPERM},   {"ENOENT", ENOENT}, {"EACCES", EACCES},
                                                  {"EBUSY", EBUSY},   {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC},
                                                  {"EOPNOTSUPP", EOPNOTSUPP}, {"ENOTSUP", ENOTSUP},
                                                  {"EDQUOT", EDQUOT}};
  CHECK(vocab::policy_errnos().size() == std::size(expected));
  for (const auto& [name, value] : expected) {
    CAPTURE(name);
    CHECK(vocab::policy_errno(name) == value);
    CHECK(vocab::policy_errno(vocab::to_lower(name)) == value);
    CHECK(vocab::policy_errno_accepted(value));
  }
  CHECK_FALSE(vocab::policy_errno("EIO"));
  CHECK_FALSE(vocab::policy_errno_accepted(EIO));
  CHECK(vocab::policy_errno_names() == "EACCES, EBUSY, EDQUOT, EINVAL, ENOENT, ENOSPC, ENOTSUP, EOPNOTSUPP, EPERM");
  CHECK(vocab::errno_name(EDQUOT) == "EDQUOT");
  CHECK(vocab::errno_name(100000) == "100000");
}

TEST_CASE("vocab: every hook and reason has a distinct name; out of range is '?'") {
  std::set<std::string> hooks, reasons;
  for (int h = 0; h < TW_HOOK_COUNT; ++h) hooks.emplace(vocab::hook_name(h));
  for (int r = 0; r < TW_R_COUNT; ++r) reasons.emplace(vocab::reason_text(r));
  CHECK(hooks.size() == TW_HOOK_COUNT);
  CHECK(reasons.size() == TW_R_COUNT);
  CHECK(vocab::hook_name(TW_HOOK_COUNT) == "?");
  CHECK(vocab::hook_name(-1) == "?");
  CHECK(vocab::reason_text(TW_R_COUNT) == "?");
  CHECK(vocab::hook_name(TW_HOOK_TOKEN_CAPABLE) == "bpf_token_capable");
  CHECK(vocab::reason_text(TW_R_STRICT) == "strict profile: the bpffs delegates more than the profile grants");
}

TEST_CASE("vocab: the compiler's Attr and Hook are the ABI's, name for name") {
  CHECK(compiler::attr_name(compiler::Attr::bpffs) == "token.bpffs");
  CHECK(static_cast<int>(compiler::Attr::delegates) == TW_ATTR_DELEGATES);
  CHECK(compiler::attr_is_numeric(compiler::Attr::userns_depth));
  CHECK(compiler::attr_max(compiler::Attr::userns_depth) == 32);
  CHECK_FALSE(compiler::attr_is_numeric(compiler::Attr::exe));
  for (int h = 0; h < TW_HOOK_COUNT; ++h) {
    auto hook = compiler::hook_from_name(vocab::hook_name(h));
    REQUIRE(hook);
    CHECK(static_cast<int>(*hook) == h);
  }
  CHECK(compiler::hook_from_name("token_cmd") == compiler::Hook::token_cmd);
  CHECK_FALSE(compiler::hook_from_name("token_free"));
}
