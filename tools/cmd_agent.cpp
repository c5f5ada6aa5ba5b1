// SPDX-License-Identifier: Apache-2.0
// tokenwarden agent: the long-running side of tokenwarden, run by tokenwarden-agent.service.
//   - drains the kernel's audit ring continuously into the journal, one entry per decision with
//     structured fields (TW_VERDICT, TW_HOOK, TW_PROFILE, ...), repeats folded into one entry with
//     a count (TW_COUNT) per window, unless --raw;
//   - reports events the kernel dropped (ring buffer full, rate limit) since the last report;
//   - writes the counters `status` shows to a metrics file for node_exporter's textfile collector.
// Enforcement never depends on it: the programs and tables are pinned, so if the agent dies the
// policy goes on, the kernel counts what the ring cannot hold, and the next agent reads on from
// where the last one stopped (the ring's read position is the kernel's, not the agent's). It
// follows a replace (new profile names) and an unload and load (a new ring) by itself.
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <memory>
#include <thread>

#include "aggregate.h"
#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "enforce_cli.h"
#include "errors.h"
#include "events.h"
#include "journal.h"
#include "kernel/enforcer.h"
#include "kernel/result.h"
#include "metrics.h"
#include "policy_cli.h"
#include "vocab/names.h"

namespace tw::tools {
namespace {

volatile sig_atomic_t stop = 0;

// Journal message ids: one per kind of entry, so that `journalctl MESSAGE_ID=...` finds them.
constexpr const char* kDecisionId = "4d1b3c5e0a7f4e2a9c6b8d0e1f2a3b4c";
constexpr const char* kRepeatsId = "8e2f6a1c3b5d4e7f9a0b1c2d3e4f5a6b";
constexpr const char* kNoticeId = "c3a1e5f7092b4d6e8f1a2b3c4d5e6f70";

struct AgentOptions {
  std::string pin_root = kernel::kPinRoot;
  double window_s = 10;
  bool raw = false;
  bool to_stdout = false;
  std::string metrics;
  double metrics_interval_s = 15;
  double exit_after_s = 0;  // 0: until SIGTERM (tests)
};

uint64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ULL + static_cast<uint64_t>(t.tv_nsec);
}

class Agent {
 public:
  explicit Agent(const AgentOptions& o)
      : o_(o), fold_(static_cast<uint64_t>(o.window_s * 1e9), 4096), journal_(journal_available() && !o.to_stdout) {}

  int run() {
    notice(6, "tokenwarden agent started", {});
    bool said_waiting = false;
    uint64_t last_metrics = 0, last_drops = 0, last_ring = 0;
    uint64_t started = now_ns();
    while (!stop) {
      if (o_.exit_after_s > 0 && now_ns() - started > static_cast<uint64_t>(o_.exit_after_s * 1e9)) break;
      if (!rb_ && !attach()) {
        if (!said_waiting) notice(5, "no policy is loaded at " + o_.pin_root + "; waiting for one", {});
        said_waiting = true;
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      said_waiting = false;
      int n = ring_buffer__poll(rb_.get(), 250);
      if (n < 0 && n != -EINTR) {
        notice(3, fmt::format("reading the audit ring failed: {}; reopening", vocab::errno_name(-n)), {});
        detach();
        continue;
      }
      uint64_t now = now_ns();
      for (const auto& f : fold_.expire(now)) send(f);
      if (now - last_ring >= 1000000000ULL) {
        last_ring = now;
        if (!same_ring()) {  // unloaded, or unloaded and loaded again: a new ring
          ring_buffer__consume(rb_.get());
          for (const auto& f : fold_.expire(now, true)) send(f);
          detach();
          continue;
        }
      }
      // The counters are read once for whichever is due (they cover every profile's maps).
      bool drops_due = now - last_drops >= 5000000000ULL;
      bool metrics_due = !o_.metrics.empty() && now - last_metrics >= static_cast<uint64_t>(o_.metrics_interval_s * 1e9);
      if (drops_due || metrics_due) {
        auto st = status();
        if (drops_due) last_drops = now;
        if (metrics_due) last_metrics = now;
        if (st && drops_due) report_drops(*st);
        if (st && metrics_due) write_metrics(*st);
      }
    }
    if (rb_) ring_buffer__consume(rb_.get());
    for (const auto& f : fold_.expire(now_ns(), true)) send(f);
    if (!o_.metrics.empty())
      if (auto st = status()) write_metrics(*st);
    notice(6, "tokenwarden agent stopped", {});
    return kExitOk;
  }

 private:
  using RingBuffer = std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)>;

  bool attach() {
    auto e = kernel::Enforcer::open(o_.pin_root);
    if (!e) return false;
    enforcer_ = std::make_unique<kernel::Enforcer>(std::move(*e));
    names_ = enforcer_->profile_names();
    boot_to_real_ = boot_to_real_ns();
    ring_ino_ = ring_inode();
    rb_ = RingBuffer(ring_buffer__new(enforcer_->events_fd(), &Agent::on_event, this, nullptr), ring_buffer__free);
    if (!rb_) {
      notice(3, fmt::format("cannot read the audit ring: {}", vocab::errno_name(errno)), {});
      enforcer_.reset();
      return false;
    }
    auto st = status();
    if (st) last_dropped_ = st->stats.dropped_ringbuf + st->stats.dropped_ratelimit;
    notice(6, fmt::format("reading the audit events of policy `{}`{}", st ? st->policy_name : "?",
                          st ? fmt::format(" (generation {})", st->generation) : ""),
           {{"TW_POLICY", st ? st->policy_name : ""}});
    return true;
  }

  void detach() {
    rb_.reset();
    enforcer_.reset();
  }

  uint64_t ring_inode() const {
    struct stat st {};
    return stat((o_.pin_root + "/events").c_str(), &st) == 0 ? st.st_ino : 0;
  }
  bool same_ring() const { return ring_inode() == ring_ino_ && ring_ino_ != 0; }

  // The pin root's counters; nothing while a writer holds it (the next round reads them).
  std::optional<kernel::EnforcerStatus> status() {
    auto lock = kernel::PinLock::acquire(o_.pin_root, 0);
    if (!lock || !enforcer_) return std::nullopt;
    auto st = enforcer_->status(*lock);
    if (!st) return std::nullopt;
    return std::move(*st);
  }

  void report_drops(const kernel::EnforcerStatus& st) {
    uint64_t dropped = st.stats.dropped_ringbuf + st.stats.dropped_ratelimit;
    if (dropped > last_dropped_)
      notice(4,
             fmt::format("{} audit events were dropped since the last report ({} ring buffer full, {} over the rate "
                         "limit, in all)",
                         dropped - last_dropped_, st.stats.dropped_ringbuf, st.stats.dropped_ratelimit),
             {{"TW_DROPPED", std::to_string(dropped - last_dropped_)}});
    last_dropped_ = dropped;
  }

  void write_metrics(const kernel::EnforcerStatus& st) {
    std::string error;
    if (!write_file(o_.metrics, openmetrics(st, names_), error) && error != last_metrics_error_) {
      notice(3, "cannot write the metrics: " + error, {});
      last_metrics_error_ = error;
    }
  }

  static int on_event(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Agent*>(ctx);
    if (size < sizeof(tw_event)) return 0;
    const auto& e = *static_cast<const tw_event*>(data);
    if (e.profile_id && !self->names_.count(e.profile_id) && self->enforcer_)
      self->names_ = self->enforcer_->profile_names();  // a replace brought new profiles
    if (self->o_.raw) {
      self->send({e, 1, 1, false});
    } else if (auto f = self->fold_.add(e, now_ns())) {
      self->send(*f);
    }
    return 0;
  }

  void send(const Folded& f) {
    const tw_event& e = f.first;
    EventView v = view_of(e, names_, boot_to_real_);
    std::string message = v.line(e);
    if (f.summary)
      message = fmt::format("{} (repeated {} more time{} in {:g} s, {}{} process{})", message, f.count,
                            f.count == 1 ? "" : "s", o_.window_s, f.processes,
                            f.processes >= Aggregator::kMaxProcesses ? "+" : "", f.processes == 1 ? "" : "es");
    int priority = e.verdict == TW_V_DENY ? 4 : e.verdict == TW_V_AUDIT ? 5 : 6;
    JournalFields fields = {
        {"MESSAGE", message},
        {"PRIORITY", std::to_string(priority)},
        {"MESSAGE_ID", f.summary ? kRepeatsId : kDecisionId},
        {"SYSLOG_IDENTIFIER", "tokenwarden"},
        {"TW_VERDICT", v.verdict},
        {"TW_HOOK", v.hook},
        {"TW_WHAT", v.what},
        {"TW_PROFILE", v.profile},
        {"TW_REASON", v.reason},
        {"TW_PID", std::to_string(e.tgid)},
        {"TW_TID", std::to_string(e.pid)},
        {"TW_COMM", v.comm},
        {"TW_UID", std::to_string(e.uid)},
        {"TW_GID", std::to_string(e.gid)},
        {"TW_CGROUP_ID", std::to_string(e.cgroup_id)},
        {"TW_EVENT_TIME", v.time_us},
        {"TW_COUNT", std::to_string(f.count)},
    };
    if (!v.err.empty()) fields.emplace_back("TW_ERRNO", v.err);
    if (e.limit) {
      fields.emplace_back("TW_VALUE", std::to_string(e.value));
      fields.emplace_back("TW_LIMIT", std::to_string(e.limit));
    }
    if (f.summary) fields.emplace_back("TW_PROCESSES", std::to_string(f.processes));
    // What `replay` and `generate` read back from the journal (`journalctl -o json`): the token,
    // what the decision rested on, and a creation's cgroup and executable.
    nlohmann::json j = event_json(e, v, creators_);
    fields.emplace_back("TW_TOKEN", j["token"].get<std::string>());
    if (!j["request"].is_null()) fields.emplace_back("TW_REQUEST", j["request"].dump());
    if (j["cgroup"].is_string()) fields.emplace_back("TW_CGROUP", j["cgroup"].get<std::string>());
    if (j["exe"].is_string()) fields.emplace_back("TW_EXE", j["exe"].get<std::string>());
    emit(fields, message);
  }

  void notice(int priority, const std::string& message, JournalFields extra) {
    JournalFields fields = {{"MESSAGE", message},
                            {"PRIORITY", std::to_string(priority)},
                            {"MESSAGE_ID", kNoticeId},
                            {"SYSLOG_IDENTIFIER", "tokenwarden"}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    emit(fields, message);
  }

  // To the journal; printed when it is not there (--stdout), or refuses the entry: as the message,
  // or under --json as a record of its fields.
  void emit(const JournalFields& fields, const std::string& message) {
    if (journal_) {
      int r = journal_send(fields);
      if (r >= 0) return;
      report_warning(fmt::format("agent: the journal refused an entry ({}); printing instead", vocab::errno_name(-r)));
    }
    if (json_output()) {
      nlohmann::json entry = nlohmann::json::object();
      for (const auto& [k, v] : fields) entry[k] = v;
      stream_record("entry", entry);
      return;
    }
    fmt::print("{}\n", message);
    std::fflush(stdout);
  }

  const AgentOptions& o_;
  Aggregator fold_;
  bool journal_;
  std::unique_ptr<kernel::Enforcer> enforcer_;
  RingBuffer rb_{nullptr, ring_buffer__free};
  std::map<uint64_t, std::string> names_;
  CreatorResolver creators_;
  uint64_t boot_to_real_ = 0;
  uint64_t ring_ino_ = 0;
  uint64_t last_dropped_ = 0;
  std::string last_metrics_error_;
};

}  // namespace

void register_agent(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("agent", "Drain audit events into the journal and write metrics, until stopped");
  cmd->footer(
      "Run by tokenwarden-agent.service. Each decision event becomes a journal entry with fields TW_VERDICT,\n"
      "TW_HOOK, TW_WHAT, TW_PROFILE, TW_REASON, TW_ERRNO, TW_PID, TW_COMM, TW_UID, TW_CGROUP_ID, TW_COUNT;\n"
      "repeats of one (profile, hook, what, verdict, reason) within --window become one entry with TW_COUNT.\n"
      "Enforcement does not depend on the agent: if it stops, the policy stays in force.\n"
      "Example:\n  tokenwarden agent --metrics /var/lib/prometheus/node-exporter/tokenwarden.prom\n"
      "  journalctl -u tokenwarden-agent -o json | jq 'select(.TW_VERDICT==\"deny\")'");
  static AgentOptions o;
  add_pin_root_option(cmd, o.pin_root);
  cmd->add_option("--window", o.window_s, "Seconds within which repeats of one decision are folded into one entry")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_flag("--raw", o.raw, "One entry per event, nothing folded");
  cmd->add_flag("--stdout", o.to_stdout, "Print the messages instead of sending them to the journal");
  cmd->add_option("--metrics", o.metrics, "Write the counters to this file (Prometheus text format), atomically")
      ->type_name("FILE");
  cmd->add_option("--metrics-interval", o.metrics_interval_s, "Seconds between metrics writes")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("--exit-after", o.exit_after_s, "Stop after this many seconds (for tests; 0: until SIGTERM)")
      ->capture_default_str();
  cmd->callback([&exit_code] {
    begin_stream("agent");
    stop = 0;
    signal(SIGINT, [](int) { stop = 1; });
    signal(SIGTERM, [](int) { stop = 1; });
    exit_code = Agent(o).run();
  });
}

}  // namespace tw::tools
