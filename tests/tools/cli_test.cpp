// SPDX-License-Identifier: Apache-2.0
// The tokenwarden binary as users run it: doctor's verdicts and exit codes, delegate end to end.
#include <doctest/doctest.h>

#include <bpf/bpf.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "kernel/btf.h"
#include "vocab/tw_abi.h"
#include "support.h"

using tw::test::run_command;

namespace {

const std::string kTw = TW_BINARY;
const std::string kDemo = TW_TOKEN_DEMO;

nlohmann::json doctor_json(const std::string& env, int& status) {
  auto [st, out] = run_command(env + " " + kTw + " doctor --json");
  status = st;
  return nlohmann::json::parse(out);
}

const nlohmann::json& probe(const nlohmann::json& j, const std::string& id) {
  for (const auto& p : j["probes"])
    if (p["id"] == id) return p;
  FAIL("no probe " << id);
  return j;
}

// An independent attempt to load a minimal LSM program, straight through libbpf.
int independent_lsm_load_errno() {
  auto b = tw::kernel::KernelBtf::load();
  if (!b) return ENOENT;
  auto id = b->func_id("bpf_lsm_bpf_token_cmd");
  if (!id) return ENOENT;
  struct bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = BPF_LSM_MAC;
  opts.attach_btf_id = *id;
  int fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "indep", "GPL", insns, 2, &opts);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return -fd;
}

}  // namespace

TEST_CASE("cli: --version and --help with examples") {
  auto [st, out] = run_command(kTw + " --version");
  CHECK(st == 0);
  CHECK(out.find("tokenwarden ") == 0);
  CHECK(out.find("BPF program ABI " + std::to_string(TW_ABI_VERSION)) != std::string::npos);
  auto [js, jout] = run_command(kTw + " --version --json");
  CHECK(js == 0);
  auto j = nlohmann::json::parse(jout);
  CHECK(j["schema"] == 1);
  CHECK(j["bpf_abi"] == TW_ABI_VERSION);
  CHECK(j["libbpf"].get<std::string>().rfind("v1.", 0) == 0);
  for (const char* verb : {"doctor", "delegate", "check", "compile", "explain", "simulate", "test", "load", "replace",
                           "unload", "status", "audit", "agent", "completion"}) {
    auto [hs, help] = run_command(kTw + " " + verb + " --help");
    CHECK(hs == 0);
    CHECK(help.find("Example:") != std::string::npos);
  }
}

TEST_CASE("cli: doctor tells the truth about LSM program loading on this kernel") {
  tw::test::require_root();
  int status = -1;
  auto j = doctor_json("", status);
  int indep = independent_lsm_load_errno();
  const auto& p = probe(j, "lsm_prog_load");
  INFO("doctor says: " << p.dump());
  if (indep == 0) {
    CHECK(p["verdict"] == "ok");
  } else {
    CHECK(p["verdict"] == "fail");
    CHECK(p["errno"] == indep);
    if (indep == EPERM)
      CHECK(p["hint"].get<std::string>().find("refuses BPF LSM programs (EPERM)") != std::string::npos);
  }
  // Exit code and the blockers list agree with the probes.
  bool blocked = !j["blockers"].empty();
  CHECK(j["enforcement_possible"] == !blocked);
  CHECK(status == (blocked ? 3 : 0));
  if (indep != 0) CHECK(blocked);
}

TEST_CASE("cli: load where the kernel cannot enforce: exit 2, the reason, nothing pinned; unload then has nothing to do") {
  tw::test::require_root();
  int status = -1;
  auto j = doctor_json("", status);
  if (j["enforcement_possible"] == true) {
    MESSAGE("this kernel can enforce: the refusal path is tested with forced probes below");
  }
  // Forcing the LSM probe off gives the same path on any kernel.
  std::string root = "/sys/fs/bpf/tw-cli-test-" + std::to_string(getpid());
  auto [st, out] = run_command("TOKENWARDEN_PROBE_FORCE=lsm_prog_load=fail " + kTw + " load --pin-root " + root + " " +
                               TW_SOURCE_DIR + "/examples/ci-runner.tw 2>&1");
  CHECK(st == 2);
  CHECK(out.find("cannot enforce tokenwarden policies; nothing was loaded") != std::string::npos);
  CHECK(access(root.c_str(), F_OK) != 0);
  CHECK(access((root + "-staging-" ).c_str(), F_OK) != 0);
  if (j["enforcement_possible"] == false) {
    // The real refusal on this kernel, with the probe's own hint.
    auto [rst, rout] = run_command(kTw + " load --pin-root " + root + " " + TW_SOURCE_DIR + "/examples/ci-runner.tw 2>&1");
    CHECK(rst == 2);
    CHECK(rout.find("BPF LSM program load") != std::string::npos);
    CHECK(access(root.c_str(), F_OK) != 0);
  }
  // status and unload with nothing loaded.
  auto [sst, sout] = run_command(kTw + " status --pin-root " + root);
  CHECK(sst == 0);
  CHECK(sout.find("no policy is loaded") != std::string::npos);
  // Like stopping a stopped unit: nothing to do, and it succeeds (README's exit codes).
  auto [ust, uout] = run_command(kTw + " unload --pin-root " + root + " 2>&1");
  CHECK(ust == 0);
  CHECK(uout.find("nothing is loaded") != std::string::npos);
  CHECK(access(root.c_str(), F_OK) != 0);
}

TEST_CASE("cli: doctor with forced probes: exit code follows enforcement") {
  int status = -1;
  auto off = doctor_json("TOKENWARDEN_PROBE_FORCE=bpf_lsm_active=fail", status);
  CHECK(status == 3);
  CHECK(off["enforcement_possible"] == false);
  CHECK(probe(off, "bpf_lsm_active")["forced"] == true);
  bool listed = false;
  for (const auto& b : off["blockers"]) listed |= b == "bpf_lsm_active";
  CHECK(listed);

  std::string all_ok = "TOKENWARDEN_PROBE_FORCE=kernel_version=ok,btf=ok,bpf_lsm_active=ok,lsm_prog_load=ok,"
                       "hook.bpf_token_create=ok,hook.bpf_token_cmd=ok,hook.bpf_token_capable=ok";
  auto on = doctor_json(all_ok, status);
  CHECK(status == 0);
  CHECK(on["enforcement_possible"] == true);

  auto [st, text] = run_command("TOKENWARDEN_PROBE_FORCE=bpf_lsm_active=fail " + kTw + " doctor");
  CHECK(st == 3);
  CHECK(text.find("enforcement: UNAVAILABLE") != std::string::npos);
}

TEST_CASE("cli: delegate gives a command a token-backed map, and only what was delegated") {
  tw::test::require_root();
  auto [st, out] = run_command(kTw + " delegate -q --cmds map_create --maps array -- " + kDemo +
                               " map:array map:hash");
  INFO(out);
  CHECK(out.find("token: created from /sys/fs/bpf") != std::string::npos);
  CHECK(out.find("map array: created with token") != std::string::npos);
  CHECK(out.find("map hash: BPF_MAP_CREATE: Operation not permitted (EPERM)") != std::string::npos);
  CHECK(st == 1);  // the demo exits 1 because one operation failed
}

TEST_CASE("cli: delegate with systemd names and libbpf picking the token up implicitly") {
  tw::test::require_root();
  auto [st, out] = run_command(
      kTw + " delegate -q --cmds BPFMapCreate,BPFProgLoad,BPFBtfLoad --maps BPFMapTypeArray "
            "--progs BPFProgTypeSocketFilter --attachs BPFCgroupInetIngress -- " + kDemo + " --libbpf");
  INFO(out);
  CHECK(out.find("libbpf: skeleton loaded") != std::string::npos);
  CHECK(st == 0);
  // Without delegation the same skeleton cannot load in the user namespace.
  auto [st2, out2] = run_command(kTw + " delegate -q -- " + kDemo + " --libbpf");
  INFO(out2);
  CHECK(out2.find("libbpf: skeleton load failed") != std::string::npos);
  CHECK(st2 == 1);
}

TEST_CASE("cli: delegate at a custom mount point exports LIBBPF_BPF_TOKEN_PATH") {
  tw::test::require_root();
  auto [st, out] = run_command(kTw + " delegate -q --mount-at /mnt --cmds map_create --maps array -- " +
                               kDemo + " map:array");
  INFO(out);
  CHECK(out.find("token: created from /mnt") != std::string::npos);
  CHECK(st == 0);
}

TEST_CASE("cli: delegate rejects unknown names with a suggestion, before touching the kernel") {
  auto [st, out] = run_command(kTw + " delegate --maps hsah --progs xdp -- true 2>&1");
  CHECK(st == 1);
  CHECK(out.find("--maps: unknown map type 'hsah'; did you mean 'hash'") != std::string::npos);
  auto [dst, dry] = run_command(kTw + " delegate --dry-run --cmds BPFMapCreate --progs xdp,0x10000000000 2>&1");
  CHECK(dst == 0);
  CHECK(dry.find("delegate_cmds=map_create,delegate_progs=0x10000000000:xdp") != std::string::npos);
}

// A policy file in a fresh directory of its own, both removed at the end of the test.
struct TempPolicy {
  std::string dir, path;
  TempPolicy() {
    char t[] = "/tmp/tw-cli-XXXXXX";
    REQUIRE(mkdtemp(t));
    dir = t;
    path = dir + "/p.tw";
  }
  void write(const std::string& text) const {
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  ~TempPolicy() {
    std::remove(path.c_str());
    rmdir(dir.c_str());
  }
};

TEST_CASE("cli: check --target-kernel running tells a path of the wrong kind from one that does not exist") {
  TempPolicy t;
  const std::string& dir = t.dir;
  const std::string& policy = t.path;
  t.write("policy p;\n"
          "profile a { match creator.exe == \"" + dir + "\"; allow cmd map_create; }\n"
          "profile b { match token.bpffs == \"" + dir + "\" and creator.uid == 1; allow cmd map_create; }\n"
          "profile c { match creator.exe == \"" + dir + "/not-installed-yet\"; allow cmd map_create; }\n");
  auto [st, out] = run_command(kTw + " check --target-kernel running " + policy + " 2>&1");
  CHECK(st == 0);  // warnings, not errors
  CHECK_MESSAGE(out.find("warning: on this host: profile `a`: creator.exe \"" + std::string(dir) +
                         "\" exists but is a directory, not an executable file") != std::string::npos, out);
  CHECK_MESSAGE(out.find("exists here but is not a bpffs") != std::string::npos, out);
  CHECK_MESSAGE(out.find("note: on this host: profile `c`: creator.exe \"" + std::string(dir) +
                         "/not-installed-yet\": no such file now") != std::string::npos, out);
  CHECK(out.find(": ok (") == std::string::npos);  // not "ok" while it warns
  // Without a target kernel, the host is not looked at.
  auto [st2, plain] = run_command(kTw + " check " + policy + " 2>&1");
  CHECK(st2 == 0);
  CHECK(plain.find("on this host") == std::string::npos);
}

TEST_CASE("cli: an unknown command says so, with the verbs it resembles, and a usage exit code") {
  auto [st, out] = run_command(kTw + " lod policy.tw 2>&1");
  CHECK(st == 64);
  CHECK_MESSAGE(out.find("unknown command `lod`; did you mean `load`?") != std::string::npos, out);
  auto [st2, out2] = run_command(kTw + " --error-limit 5 bogus 2>&1");
  CHECK(st2 == 64);
  CHECK_MESSAGE(out2.find("unknown command `bogus`") != std::string::npos, out2);
  auto [st3, out3] = run_command(kTw + " check --no-such-option x.tw 2>&1");
  CHECK(st3 == 64);  // CLI11's own parse errors share the code
  auto [st4, out4] = run_command(kTw + " --help");
  CHECK(st4 == 0);
}

TEST_CASE("cli: simulate refuses an event it would otherwise read silently wrong") {
  TempPolicy t;
  t.write("policy p; profile a { match creator.uid == 1; allow cmd map_create; }\n");
  const std::string& policy = t.path;
  struct Bad {
    std::string args, says;
  } bad[] = {
      {"-e creator=uid=1", "no -e hook=..."},
      {"-e hook=token_create -e hook=map_create", "`hook` is already given by -e #1"},
      {"-e hook=token_create -e expect=deny", "`expect` belongs in a case file"},
      {"-e hook=token_create -e nonsense", "-e #2 `nonsense`: expected FIELD=VALUE"},
  };
  for (const auto& b : bad) {
    auto [st, out] = run_command(kTw + " simulate " + policy + " " + b.args + " 2>&1");
    CHECK_MESSAGE(st == 64, b.args << ": " << out);
    CHECK_MESSAGE(out.find(b.says) != std::string::npos, b.args << ": " << out);
  }
  // creator= adds up over several -e, as in a case file.
  auto [st, out] = run_command(kTw + " simulate " + policy + " -e hook=token_create -e creator=uid=1 -e creator=gid=2 2>&1");
  CHECK_MESSAGE(st == 0, out);
  CHECK(out.find("allow") != std::string::npos);
}
