// SPDX-License-Identifier: Apache-2.0
// The SELinux backend (IR -> CIL): what it grants for which types, first-match order where
// SELinux can see it, line marks, and the in-process libsepol check with its E031 diagnostics.
#include <doctest/doctest.h>

#include "compile_support.h"
#include "compiler/cil_backend.h"

using namespace tw::compiler;
using tw::test::compile_text;

namespace {

struct Emitted {
  Compilation c;
  CilModule m;
};

Emitted emit(const std::string& text) {
  Emitted e{compile_text(text), {}};
  REQUIRE_MESSAGE(e.c.ir, text);
  e.m = lower_to_cil(*e.c.ir);
  return e;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cil backend: a profile's token commands and capabilities become interface calls") {
  auto e = emit(R"(policy p;
profile app {
  match creator.selinux_type == app_t and token.delegator.selinux_type == mgr_t;
  allow cmd map_create, prog_load, btf_load;
  allow map array; allow prog xdp; allow attach xdp;
  allow cap CAP_BPF, CAP_NET_ADMIN;
})");
  CHECK(has(e.m.text, ";;* lms 2 p.tw\n"));
  CHECK(has(e.m.text, "(call tokenwarden_token_map_create (app_t mgr_t))"));
  CHECK(has(e.m.text, "(call tokenwarden_token_prog_load (app_t mgr_t))"));
  CHECK(has(e.m.text, "(call tokenwarden_token_cap_bpf (app_t mgr_t))"));
  CHECK(has(e.m.text, "(call tokenwarden_token_cap_net_admin (app_t mgr_t))"));
  CHECK_FALSE(has(e.m.text, "cap_perfmon"));
  REQUIRE(e.m.coverage.size() == 1);
  CHECK(e.m.coverage[0].bpf_only.front() == "commands btf_load (SELinux does not check them per token)");
  Diagnostics d;
  CHECK(check_cil(e.m, e.c.sources, d));
  CHECK(d.all().empty());
}

TEST_CASE("cil backend: alternatives without a creator type are the BPF LSM's") {
  auto e = emit(R"(policy p;
profile a { match creator.uid == 5 or creator.selinux_type == a_t and creator.comm == "x"; allow cmd map_create; allow map array; })");
  // The second alternative names a_t; its comm test is BPF-only; any domain may be the delegator.
  CHECK(has(e.m.text, "(call tokenwarden_token_map_create (a_t domain))"));
  REQUIRE(e.m.coverage.size() == 1);
  CHECK(e.m.coverage[0].bpf_only[0] == "match alternative 1 (no creator.selinux_type)");
  CHECK(e.m.coverage[0].bpf_only[1] == "the other attributes of match alternative 2");
}

TEST_CASE("cil backend: first-match order where SELinux can see it") {
  auto e = emit(R"(policy p;
profile deny-evil { match creator.selinux_type == evil_t; refuse; }
profile from-mgr { match creator.selinux_type == app_t and token.delegator.selinux_type == mgr_t; allow cmd prog_load; allow prog xdp; allow attach xdp; }
profile rest { match creator.selinux_type in app_t, evil_t; allow cmd map_create; allow map array; }
)");
  // evil_t is decided by a refusing profile: nothing for it anywhere.
  CHECK_FALSE(has(e.m.text, "evil_t"));
  // app_t from mgr_t is decided by `from-mgr`: `rest` grants app_t only from other delegators.
  CHECK(has(e.m.text, "(typeattributeset tw_rest_1_app_t_from (and domain (not (mgr_t))))"));
  CHECK(has(e.m.text, "(call tokenwarden_token_map_create (app_t tw_rest_1_app_t_from))"));
  CHECK(e.m.coverage[0].selinux[0] == "grants nothing to evil_t (refuse)");
  Diagnostics d;
  CHECK(check_cil(e.m, e.c.sources, d));
}

TEST_CASE("cil backend: a profile in audit mode is granted everything SELinux checks") {
  auto e = emit(R"(policy p; profile w { match creator.selinux_type == w_t; mode audit; allow cmd map_create; allow map array; })");
  for (const char* call : {"map_create", "prog_load", "cap_bpf", "cap_perfmon", "cap_net_admin", "cap_sys_admin"})
    CHECK(has(e.m.text, std::string("(call tokenwarden_token_") + call + " (w_t domain))"));
}

TEST_CASE("cil backend: libsepol's errors become E031 at the profile's line") {
  auto e = emit("policy p;\n\nprofile a {\n  match creator.selinux_type == self;\n  allow cmd map_create;\n  allow map array;\n}\n");
  Diagnostics d;
  CHECK_FALSE(check_cil(e.m, e.c.sources, d));
  REQUIRE(d.all().size() == 1);
  CHECK(d.all()[0].code == Code::E031);
  CHECK(e.c.sources.where(d.all()[0].span) == "p.tw:3:1");
  CHECK(has(d.all()[0].message, "self is a reserved word"));
}

TEST_CASE("cil backend: a policy without SELinux types emits no rules and compiles") {
  auto e = emit("policy p; profile a { match creator.uid == 1; allow cmd map_create; allow map array; }");
  CHECK_FALSE(has(e.m.text, "(call"));
  CHECK(e.m.types.empty());
  Diagnostics d;
  CHECK(check_cil(e.m, e.c.sources, d));
}
