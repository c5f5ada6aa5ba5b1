// SPDX-License-Identifier: Apache-2.0
// tokenwarden audit [--json] [--follow]: the decision events in the kernel's ring buffer:
// refusals, would-be refusals in audit mode (and allowed decisions with --log-allowed), with
// time, process, cgroup, hook, what was asked, the profile and the reason.
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "compiler/ir_io.h"
#include "enforce_cli.h"
#include "errors.h"
#include "output.h"
#include "events.h"
#include "vocab/catalogue.h"
#include "kernel/enforcer.h"
#include "kernel/result.h"
#include "compiler/json_text.h"

namespace tw::tools {
namespace {

volatile sig_atomic_t stop = 0;

struct Reader {
  bool json, follow;
  nlohmann::json events = nlohmann::json::array();
  std::map<uint64_t, std::string> names;
  uint64_t boot_to_real_ns;
  CreatorResolver creators;
  size_t seen = 0;
};

int on_event(void* ctx, void* data, size_t size) {
  auto* r = static_cast<Reader*>(ctx);
  if (size < sizeof(tw_event)) return 0;
  const auto& e = *static_cast<const tw_event*>(data);
  ++r->seen;
  EventView v = view_of(e, r->names, r->boot_to_real_ns);
  if (r->json) {
    nlohmann::json j = event_json(e, v, r->creators);
    if (r->follow) stream_record("event", j);
    else r->events.push_back(std::move(j));
  } else {
    fmt::print("{} {}\n", v.time, v.line(e));
  }
  std::fflush(stdout);
  return 0;
}

int run(const std::string& root, bool follow) {
  const bool json = json_output();
  if (follow) begin_stream("audit");
  else begin_document("audit", {"pin_root", "events", "dropped"});
  document()["pin_root"] = root;
  auto e = kernel::Enforcer::open(root);
  if (!e) {
    report_error(e.error());
    report_detail("hint: is a policy loaded? `tokenwarden status`");
    return kExitSystemError;
  }
  Reader r{json, follow, nlohmann::json::array(), e->profile_names(), boot_to_real_ns(), {}};
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
  document()["events"] = std::move(r.events);
  // The drop counters, if the pin root is not being written right now (audit never waits for it).
  auto lock = kernel::PinLock::acquire(root, 0);
  auto st = lock ? e->status(*lock) : kernel::Result<kernel::EnforcerStatus>(lock.error());
  if (st)
    document()["dropped"] = {{"ringbuf", st->stats.dropped_ringbuf}, {"ratelimit", st->stats.dropped_ratelimit}};
  if (st && (st->stats.dropped_ringbuf || st->stats.dropped_ratelimit) && !json)
    fmt::print(stderr, "tokenwarden audit: {} events dropped so far ({} ring buffer full, {} over the rate limit)\n",
               st->stats.dropped_ringbuf + st->stats.dropped_ratelimit, st->stats.dropped_ringbuf,
               st->stats.dropped_ratelimit);
  return kExitOk;
}

}  // namespace

void register_audit(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("audit", "Print the decision events the kernel logged (and consume them)");
  cmd->footer("Example:\n  tokenwarden audit\n  tokenwarden audit --follow --json | jq 'select(.event.verdict==\"deny\")'");
  static std::string root = kernel::kPinRoot;
  static bool follow = false;
  add_pin_root_option(cmd, root);
  cmd->add_flag("-f,--follow", follow, "Keep printing new events until interrupted");
  cmd->callback([&exit_code] { exit_code = run(root, follow); });
}

}  // namespace tw::tools
