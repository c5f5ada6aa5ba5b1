// SPDX-License-Identifier: Apache-2.0
// `import incus` and `import lxd`: an instance's BPF delegation keys to a strict profile that
// checks clean, and lints and errors at the instance file's line.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compile_support.h"
#include "compiler/cases.h"
#include "compiler/import_container.h"

using namespace tw;
using namespace tw::compiler;
using tw::test::has;
using tw::test::Imported;

namespace {

Imported import_files(ContainerManager m, const std::vector<std::pair<std::string, std::string>>& files,
                      std::optional<vocab::KernelVersion> kernel = vocab::KernelVersion{7, 3}) {
  return test::import_sources(files, [&](const SourceSet& s, Diagnostics& d) { return import_container(m, s, 0, d, {kernel}); });
}

// As `incus query /1.0/instances/web` prints it (the keys of `config` again in `expanded_config`).
std::string incus(const std::string& expanded, const std::string& extra = "") {
  return "{\n"
         "  \"config\": {\n"
         "    \"security.bpffs.delegate_cmds\": \"map_create\"\n"
         "  },\n"
         "  \"expanded_config\": {\n" +
         expanded +
         "\n  },\n"
         "  \"name\": \"web\",\n" +
         extra + "  \"type\": \"container\"\n}\n";
}

const char* kDelegates =
    "    \"security.bpffs.delegate_cmds\": \"map_create,prog_load,btf_load\",\n"
    "    \"security.bpffs.delegate_maps\": \"array,ringbuf\",\n"
    "    \"security.bpffs.delegate_progs\": \"cgroup_skb\",\n"
    "    \"security.bpffs.delegate_attachs\": \"cgroup_inet_ingress,cgroup_inet_egress\"";

}  // namespace

TEST_CASE("import incus: a container's delegation becomes a strict profile that checks clean and decides as delegated") {
  auto r = import_files(ContainerManager::incus, {{"web.json", incus(kDelegates)}});
  REQUIRE(r.policy);
  CHECK(r.codes.empty());
  const std::string& p = *r.policy;
  INFO(p);
  CHECK(p.find("profile incus-web {") != std::string::npos);
  CHECK(p.find("match creator.cgroup under \"/lxc.payload.web\"\n    and token.bpffs == \"/sys/fs/bpf\";") != std::string::npos);
  CHECK(p.find("allow cmd map_create, prog_load, btf_load;  # security.bpffs.delegate_cmds (line 6)") != std::string::npos);
  auto c = test::compile_text(p);
  REQUIRE(c.ir);
  CHECK(c.diags.all().empty());
  SourceSet s;
  Diagnostics d;
  uint32_t id = s.add("web.cases",
                      "[defaults]\ncreator = uid=1000000 cgroup=/lxc.payload.web/init.scope\n"
                      "token = cmds=map_create,prog_load,btf_load maps=array,ringbuf progs=cgroup_skb "
                      "attachs=cgroup_inet_ingress,cgroup_inet_egress bpffs=/sys/fs/bpf\n\n"
                      "[its token]\nhook = token_create\nexpect = allow incus-web\n\n"
                      "[widened to hash maps: strict refuses]\nhook = token_create\n"
                      "token = cmds=map_create maps=array,hash bpffs=/sys/fs/bpf\nexpect = deny incus-web\n\n"
                      "[another container]\nhook = token_create\ncreator = cgroup=/lxc.payload.db/init.scope\nexpect = deny -\n");
  auto cases = parse_cases(s, id, d);
  REQUIRE(cases.size() == 3);
  for (const auto& k : cases) CHECK_MESSAGE(run_case(*c.ir, k).passed, k.name);

  auto proj = import_files(ContainerManager::incus,
                           {{"web.json", incus(std::string(kDelegates) + ",\n    \"security.bpffs.path\": \"/run/bpf\"",
                                               "  \"project\": \"shop\",\n")}});
  REQUIRE(proj.policy);
  CHECK(proj.policy->find("profile incus-shop_web {") != std::string::npos);
  CHECK(proj.policy->find("under \"/lxc.payload.shop_web\"\n    and token.bpffs == \"/run/bpf\"") != std::string::npos);
}

TEST_CASE("import incus: lints on the delegation, at the file's line") {
  auto r = import_files(ContainerManager::incus,
                        {{"web.json", incus("    \"security.bpffs.delegate_cmds\": \"map_create,prog_load\",\n"
                                            "    \"security.bpffs.delegate_maps\": \"any\",\n"
                                            "    \"security.bpffs.delegate_progs\": \"kprobe\",\n"
                                            "    \"security.bpffs.delegate_attachs\": \"cgroup_inet_egress\",\n"
                                            "    \"security.privileged\": \"true\"")}},
                        vocab::KernelVersion{6, 1});
  REQUIRE(r.policy);
  CHECK(has(r, "W120@7:38"));
  CHECK(has(r, "W121@9:41"));
  CHECK(has(r, "W106@8:39"));
  CHECK(has(r, "W123@10:29"));
  CHECK(has(r, "W124@6:5"));
  CHECK(r.policy->find("allow cap CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON;") != std::string::npos);  // any map: sockmap too

  auto w = import_files(ContainerManager::incus, {{"web.json", incus("    \"security.bpffs.delegate_cmds\": \"prog_load\"")}});
  REQUIRE(w.policy);
  CHECK(has(w, "W125@6:38"));
}

TEST_CASE("import incus: a wrong instance file is an error with its line, and nothing is generated") {
  auto typo = import_files(ContainerManager::incus,
                           {{"web.json", incus("    \"security.bpffs.delegate_maps\": \"array,ringbfu\"")},
                            {"ok.json", incus(kDelegates)}});
  CHECK_FALSE(typo.policy);
  CHECK(has(typo, "E040@6:44"));
  CHECK(typo.diags.all()[0].hints.at(0) == "did you mean ringbuf?");
  CHECK(has(import_files(ContainerManager::incus, {{"x.json", "name: web\n"}}), "E040@1:1"));
  CHECK(has(import_files(ContainerManager::incus, {{"web.json", incus("    \"image.os\": \"Debian\"")}}), "E041@1:1"));
  auto vm = incus(kDelegates);
  vm.replace(vm.find("\"container\""), 11, "\"virtual-machine\"");
  auto v = import_files(ContainerManager::incus, {{"vm.json", vm}});
  INFO(fmt::format("{}", fmt::join(v.codes, " ")));
  CHECK(v.codes == std::vector<std::string>{"E041@12:12"});
}

TEST_CASE("import lxd: security.delegate_bpf=true with its *_types; without it the keys are ignored") {
  std::string on = "{\n  \"expanded_config\": {\n    \"security.delegate_bpf\": \"true\",\n"
                   "    \"security.delegate_bpf.cmd_types\": \"map_create:prog_load\",\n"
                   "    \"security.delegate_bpf.map_types\": \"ringbuf\",\n"
                   "    \"security.delegate_bpf.prog_types\": \"socket_filter\",\n"
                   "    \"security.delegate_bpf.attach_types\": \"cgroup_inet_ingress\"\n  },\n"
                   "  \"name\": \"c1\",\n  \"project\": \"default\",\n  \"type\": \"container\"\n}\n";
  auto r = import_files(ContainerManager::lxd, {{"c1.json", on}});
  REQUIRE(r.policy);
  CHECK(r.codes.empty());
  CHECK(r.policy->find("profile lxd-c1 {") != std::string::npos);
  CHECK(r.policy->find("allow cmd map_create, prog_load;  # security.delegate_bpf.cmd_types (line 4)") != std::string::npos);
  CHECK(test::compile_text(*r.policy).ir);

  std::string off = on;
  off.replace(off.find("\"true\""), 6, "\"false\"");
  auto o = import_files(ContainerManager::lxd, {{"c1.json", off}});
  CHECK_FALSE(o.policy);
  CHECK(has(o, "W122@4:5"));
  INFO(fmt::format("{}", fmt::join(o.codes, " ")));
  CHECK(has(o, "E041@3:31"));
}
