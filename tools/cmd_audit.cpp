// tokenwarden audit [--json] [--follow]: the decision events in the kernel's ring buffer:
// refusals, would-be refusals in audit mode (and allowed decisions with --log-allowed), with
// time, process, cgroup, hook, what was asked, the profile and the reason.
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <signal.h>
#include <time.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "compiler/ir_io.h"
#include "errors.h"
#include "kernel/catalogue.h"
#include "kernel/enforcer.h"
#include "kernel/result.h"

namespace tw::tools {
namespace {

volatile sig_atomic_t stop = 0;

struct Reader {
  bool json;
  std::map<uint64_t, std::string> names;
  uint64_t boot_to_real_ns;
  size_t seen = 0;
};

std::string what_of(const tw_event& e) {
  auto name = [](kernel::EnumKind k, uint32_t v) {
    return kernel::builtin_table(k).name_of(v).value_or(std::to_string(v));
  };
  switch (e.hook) {
    case TW_HOOK_TOKEN_CMD: return "cmd " + name(kernel::EnumKind::cmd, e.what);
    case TW_HOOK_TOKEN_CAPABLE:
      for (const auto& c : kernel::token_capabilities())
        if (c.value == static_cast<int>(e.what)) return std::string(c.name);
      return fmt::format("capability {}", e.what);
    case TW_HOOK_MAP_CREATE: return "map " + name(kernel::EnumKind::map, e.what);
    case TW_HOOK_PROG_LOAD:
      return "prog " + name(kernel::EnumKind::prog, e.what) + " attach " + name(kernel::EnumKind::attach, e.what2);
    default: return "token";
  }
}

int on_event(void* ctx, void* data, size_t size) {
  auto* r = static_cast<Reader*>(ctx);
  if (size < sizeof(tw_event)) return 0;
  const auto& e = *static_cast<const tw_event*>(data);
  ++r->seen;
  std::string profile = e.profile_id == 0 ? "-" : r->names.count(e.profile_id) ? r->names[e.profile_id] : fmt::format("{:#x}", e.profile_id);
  const char* verdict = e.verdict == TW_V_DENY ? "deny" : e.verdict == TW_V_AUDIT ? "audit" : "allow";
  uint64_t real_ns = e.ts_ns + r->boot_to_real_ns;
  std::time_t secs = static_cast<std::time_t>(real_ns / 1000000000ULL);
  char when[32];
  std::strftime(when, sizeof when, "%FT%T", std::gmtime(&secs));
  std::string comm(e.comm, strnlen(e.comm, sizeof e.comm));
  std::string limit = e.limit ? fmt::format(" ({} > {})", e.value, e.limit) : "";
  if (r->json) {
    nlohmann::json j = {{"time", fmt::format("{}.{:06}Z", when, (real_ns / 1000) % 1000000)},
                        {"verdict", verdict},
                        {"hook", kernel::hook_name(static_cast<int>(e.hook))},
                        {"what", what_of(e)},
                        {"profile", profile},
                        {"reason", kernel::reason_text(static_cast<int>(e.reason))},
                        {"pid", e.pid}, {"tgid", e.tgid}, {"comm", comm}, {"uid", e.uid}, {"gid", e.gid},
                        {"cgroup_id", e.cgroup_id}, {"token", fmt::format("{:#x}", e.token)}};
    if (e.verdict != TW_V_ALLOW) j["errno"] = kernel::errno_name(e.err);
    if (e.limit) {
      j["value"] = e.value;
      j["limit"] = e.limit;
    }
    fmt::print("{}\n", compiler::dump_json(j));
  } else {
    fmt::print("{} {:<5} {:<17} {:<28} profile={} pid={} comm={} uid={} cgroup={}: {}{}{}\n", when, verdict,
               kernel::hook_name(static_cast<int>(e.hook)), what_of(e), profile, e.tgid, comm, e.uid, e.cgroup_id,
               kernel::reason_text(static_cast<int>(e.reason)), limit,
               e.verdict != TW_V_ALLOW ? " [" + kernel::errno_name(e.err) + "]" : "");
  }
  std::fflush(stdout);
  return 0;
}

int run(const std::string& root, bool json, bool follow) {
  auto e = kernel::Enforcer::open(root);
  if (!e) {
    report_error(e.error());
    fmt::print(stderr, "  hint: is a policy loaded? `tokenwarden status`\n");
    return kExitSystemError;
  }
  timespec boot{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  Reader r{json, e->profile_names(),
           static_cast<uint64_t>((real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec))};
  ring_buffer* rb = ring_buffer__new(e->events_fd(), on_event, &r, nullptr);
  if (!rb) {
    report_error(kernel::errno_error("ring_buffer__new(events)"));
    return kExitSystemError;
  }
  if (follow) {
    signal(SIGINT, [](int) { stop = 1; });
    signal(SIGTERM, [](int) { stop = 1; });
    while (!stop) {
      int n = ring_buffer__poll(rb, 200);
      if (n < 0 && n != -EINTR) break;
    }
  } else {
    ring_buffer__consume(rb);
  }
  ring_buffer__free(rb);
  // The drop counters, if the pin root is not being written right now (audit never waits for it).
  auto lock = kernel::PinLock::acquire(root, 0);
  if (auto st = lock ? e->status(*lock) : kernel::Result<kernel::EnforcerStatus>(lock.error());
      st && (st->stats.dropped_ringbuf || st->stats.dropped_ratelimit) && !json)
    fmt::print(stderr, "tokenwarden audit: {} events dropped so far ({} ring buffer full, {} over the rate limit)\n",
               st->stats.dropped_ringbuf + st->stats.dropped_ratelimit, st->stats.dropped_ringbuf,
               st->stats.dropped_ratelimit);
  return kExitOk;
}

}  // namespace

void register_audit(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("audit", "Print the decision events the kernel logged (and consume them)");
  cmd->footer("Example:\n  tokenwarden audit\n  tokenwarden audit --follow --json | jq 'select(.verdict==\"deny\")'");
  static std::string root = kernel::kPinRoot;
  static bool json = false, follow = false;
  cmd->add_option("--pin-root", root, "Where the programs and maps are pinned")->capture_default_str();
  cmd->add_flag("--json", json, "One JSON object per event and line");
  cmd->add_flag("-f,--follow", follow, "Keep printing new events until interrupted");
  cmd->callback([&exit_code] { exit_code = run(root, json, follow); });
}

}  // namespace tw::tools
