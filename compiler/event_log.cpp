// SPDX-License-Identifier: Apache-2.0
#include "event_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "vocab/catalogue.h"

namespace tw::compiler {
namespace {

using nlohmann::json;

// A field that is wrong: the message names it; caught per event.
struct Bad {
  std::string message;
};

const json& field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw Bad{fmt::format("the event has no `{}`", key)};
  return *it;
}

uint64_t number(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_number_unsigned()) throw Bad{fmt::format("`{}` is not a non-negative integer", key)};
  return v.get<uint64_t>();
}

uint32_t number32(const json& j, const char* key) {
  uint64_t v = number(j, key);
  if (v > UINT32_MAX) throw Bad{fmt::format("`{}` is out of range ({})", key, v)};
  return static_cast<uint32_t>(v);
}

std::string text(const json& j, const char* key) {
  const json& v = field(j, key);
  if (!v.is_string()) throw Bad{fmt::format("`{}` is not a string", key)};
  return v.get<std::string>();
}

std::optional<std::string> text_or_null(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw Bad{fmt::format("`{}` is not a string or null", key)};
  return it->get<std::string>();
}

// A kind's value by its name (as audit writes it), or its number when it has no name.
uint32_t value_of(vocab::EnumKind kind, const json& v, const char* key) {
  if (v.is_number_unsigned() && v.get<uint64_t>() < 64) return static_cast<uint32_t>(v.get<uint64_t>());
  if (v.is_string())
    if (auto n = vocab::lookup_any_spelling(vocab::builtin_table(kind), v.get<std::string>())) return *n;
  throw Bad{fmt::format("`{}`: {} is no {} this build knows", key, v.dump(), vocab::kind_noun(kind))};
}

uint64_t mask_of(vocab::EnumKind kind, const json& j, const char* key) {
  const json& a = field(j, key);
  if (!a.is_array()) throw Bad{fmt::format("`delegates.{}` is not an array of names", key)};
  uint64_t m = 0;
  for (const auto& v : a) m |= 1ULL << value_of(kind, v, key);
  return m;
}

Outcome outcome_of(const std::string& v) {
  if (v == "allow") return Outcome::allow;
  if (v == "deny") return Outcome::deny;
  if (v == "audit") return Outcome::audit;
  throw Bad{fmt::format("`verdict` is `{}`, not allow, deny or audit", v)};
}

uint64_t token_of(const std::string& s) {
  uint64_t v = 0;
  std::string_view t = s;
  if (t.starts_with("0x")) t.remove_prefix(2);
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v, 16);
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) throw Bad{fmt::format("`token` is `{}`, not a hex number", s)};
  return v;
}

// One event object; nullopt for the guard's (they decide nothing a policy says).
std::optional<RecordedEvent> event_of(const json& j) {
  if (!j.is_object()) throw Bad{"the event is not an object"};
  std::string hook_name = text(j, "hook");
  if (hook_name == "guard") return std::nullopt;
  auto hook = hook_from_name(hook_name);
  if (!hook) throw Bad{fmt::format("`hook` is `{}`, no hook tokenwarden decides", hook_name)};
  RecordedEvent r;
  Event& e = r.event;
  e.hook = *hook;
  r.verdict = outcome_of(text(j, "verdict"));
  r.profile = text(j, "profile");
  if (r.profile == "-") r.profile.clear();
  r.time = text(j, "time");
  r.reason = text(j, "reason");
  r.token = token_of(text(j, "token"));
  r.tid = number32(j, "pid");
  r.tgid = number32(j, "tgid");
  e.creator.uid = number32(j, "uid");
  e.creator.gid = number32(j, "gid");
  e.creator.comm = text(j, "comm");
  if (auto it = j.find("value"); it != j.end() && it->is_number_unsigned()) r.value = it->get<uint64_t>();
  if (auto it = j.find("limit"); it != j.end() && it->is_number_unsigned()) r.limit = it->get<uint64_t>();
  const json& q = field(j, "request");
  if (!q.is_object()) throw Bad{"`request` is not an object (an event from before ABI 9 has none: record it again)"};
  switch (e.hook) {
    case Hook::token_create: {
      const json& d = field(q, "delegates");
      if (!d.is_object()) throw Bad{"`request.delegates` is not an object"};
      e.token.cmds = mask_of(vocab::EnumKind::cmd, d, "cmds");
      e.token.maps = mask_of(vocab::EnumKind::map, d, "maps");
      e.token.progs = mask_of(vocab::EnumKind::prog, d, "progs");
      e.token.attachs = mask_of(vocab::EnumKind::attach, d, "attachs");
      e.token.userns_owner = number32(q, "userns_owner");
      e.token.userns_depth = number32(q, "userns_depth");
      if (auto cg = text_or_null(j, "cgroup")) e.creator.cgroup = *cg, r.cgroup_known = true;
      if (auto exe = text_or_null(j, "exe")) e.creator.exe = *exe, r.exe_known = true;
      break;
    }
    case Hook::token_cmd: e.cmd = value_of(vocab::EnumKind::cmd, field(q, "cmd"), "cmd"); break;
    case Hook::token_capable: {
      const json& c = field(q, "capability");
      std::optional<int> cap = c.is_string() ? vocab::capability_by_name(c.get<std::string>())
                               : c.is_number_unsigned() && c.get<uint64_t>() < 64 ? std::optional<int>(c.get<int>())
                                                                                  : std::nullopt;
      if (!cap) throw Bad{fmt::format("`capability`: {} is no capability", c.dump())};
      e.cap = *cap;
      break;
    }
    case Hook::map_create:
      e.map.type = value_of(vocab::EnumKind::map, field(q, "map"), "map");
      e.map.max_entries = number32(q, "max_entries");
      e.map.key_size = number32(q, "key_size");
      e.map.value_size = number32(q, "value_size");
      e.map.flags = number32(q, "flags");
      break;
    case Hook::prog_load: {
      e.prog.type = value_of(vocab::EnumKind::prog, field(q, "prog"), "prog");
      e.prog.attach = value_of(vocab::EnumKind::attach, field(q, "attach"), "attach");
      e.prog.insns = number32(q, "insns");
      const json& s = field(q, "sleepable");
      if (!s.is_boolean()) throw Bad{"`sleepable` is not true or false"};
      e.prog.sleepable = s.get<bool>();
      break;
    }
  }
  return r;
}

// A journal entry of the agent (`journalctl -o json`): its TW_* fields, which are strings, as an
// event of `audit --json`.
json from_journal(const json& j) {
  auto str = [&](const char* key) -> json {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? *it : json();
  };
  auto num = [&](const char* key) -> json {
    json v = str(key);
    if (!v.is_string()) return nullptr;
    uint64_t n = 0;
    const std::string& t = v.get_ref<const std::string&>();
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    return ec == std::errc() && end == t.data() + t.size() ? json(n) : json(t);
  };
  json request = nullptr;
  if (json r = str("TW_REQUEST"); r.is_string()) {
    request = json::parse(r.get<std::string>(), nullptr, false);
    if (request.is_discarded()) throw Bad{"`TW_REQUEST` is not JSON"};
  }
  return {{"time", str("TW_EVENT_TIME")}, {"verdict", str("TW_VERDICT")}, {"hook", str("TW_HOOK")},
          {"profile", str("TW_PROFILE")}, {"reason", str("TW_REASON")}, {"pid", num("TW_TID")}, {"tgid", num("TW_PID")},
          {"comm", str("TW_COMM")}, {"uid", num("TW_UID")}, {"gid", num("TW_GID")}, {"token", str("TW_TOKEN")},
          {"value", num("TW_VALUE")}, {"limit", num("TW_LIMIT")}, {"request", request}, {"cgroup", str("TW_CGROUP")},
          {"exe", str("TW_EXE")}};
}

// A record of the stream (`{"schema":1,"verb":"audit","event":{...}}`) or a bare event: the
// event, or nullptr for a record without one.
const json* event_in(const json& j) {
  if (!j.is_object()) throw Bad{"not a JSON object"};
  if (j.contains("hook")) return &j;
  if (auto it = j.find("event"); it != j.end()) return &*it;
  if (j.contains("verb") || j.contains("MESSAGE")) return nullptr;  // another record; a journal entry not of a decision
  throw Bad{"neither an event nor a record of `audit --json` or the journal"};
}

void add(EventLog& log, const json& j) {
  if (auto r = event_of(j)) log.events.push_back(std::move(*r));
  else ++log.other_records;
}

}  // namespace

std::optional<EventLog> read_event_log(const SourceSet& sources, uint32_t file, Diagnostics& diags) {
  const std::string& all = sources.file(file).text;
  EventLog log;
  size_t errors = diags.error_count();
  auto error = [&](uint32_t begin, uint32_t end, const std::string& what) {
    diags.report(Code::E042, Span{file, begin, end}, what)
        .hint("record events with `tokenwarden audit --json` (or `audit --follow --json`, one record per line)");
  };
  // The document `audit --json` prints (one JSON value, possibly over many lines).
  json whole = json::parse(all, nullptr, false);
  if (!whole.is_discarded() && whole.is_object() && whole.contains("events")) {
    uint32_t first_line_end = static_cast<uint32_t>(std::min(all.find('\n'), all.size()));
    const json& events = whole["events"];
    if (!events.is_array()) {
      error(0, first_line_end, "`events` is not an array (was the policy loaded? `audit` found no ring buffer)");
      return std::nullopt;
    }
    for (size_t i = 0; i < events.size(); ++i) {
      try {
        size_t before = log.events.size();
        add(log, events[i]);
        if (log.events.size() > before) log.events.back().span = Span{file, 0, first_line_end};
      } catch (const Bad& b) {
        error(0, first_line_end, fmt::format("event {} of the document: {}", i + 1, b.message));
      }
    }
    return diags.error_count() > errors ? std::nullopt : std::optional<EventLog>(std::move(log));
  }
  // One record per line.
  size_t at = 0;
  while (at < all.size()) {
    size_t nl = all.find('\n', at);
    size_t end = nl == std::string::npos ? all.size() : nl;
    std::string_view line(all.data() + at, end - at);
    auto begin = static_cast<uint32_t>(at), stop = static_cast<uint32_t>(end);
    at = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      error(begin, stop, "not JSON");
      continue;
    }
    try {
      // The agent's journal entries; a folded one stands for TW_COUNT events alike.
      if (j.is_object() && j.contains("TW_HOOK")) {
        json e = from_journal(j);
        uint64_t count = 1;
        if (auto c = j.find("TW_COUNT"); c != j.end() && c->is_string()) {
          const std::string& t = c->get_ref<const std::string&>();
          auto [stop_at, ec] = std::from_chars(t.data(), t.data() + t.size(), count);
          if (ec != std::errc() || stop_at != t.data() + t.size()) throw Bad{fmt::format("`TW_COUNT` is `{}`, not a number", t)};
        }
        for (uint64_t i = 0; i < std::clamp<uint64_t>(count, 1, 100000); ++i) {
          size_t before = log.events.size();
          add(log, e);
          if (log.events.size() > before) log.events.back().span = Span{file, begin, stop};
        }
        continue;
      }
      const json* e = event_in(j);
      if (!e) {
        ++log.other_records;
        continue;
      }
      size_t before = log.events.size();
      add(log, *e);
      if (log.events.size() > before) log.events.back().span = Span{file, begin, stop};
    } catch (const Bad& b) {
      error(begin, stop, b.message);
    }
  }
  return diags.error_count() > errors ? std::nullopt : std::optional<EventLog>(std::move(log));
}

}  // namespace tw::compiler
