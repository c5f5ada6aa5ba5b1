// SPDX-License-Identifier: Apache-2.0
#include "generate.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "vocab/catalogue.h"
#include "vocab/tw_abi.h"

namespace tw::compiler {
namespace {

// "2026-12-04T02:00:01.123456Z" to the second.
std::string to_second(const std::string& t) {
  auto dot = t.find('.');
  return dot == std::string::npos ? t : t.substr(0, dot) + "Z";
}

// How often something was seen, and when first and last.
struct Seen {
  size_t count = 0;
  std::string first, last;
  void add(const std::string& time) {
    if (!count++) first = time;
    last = time;
  }
  // "3 times, 2026-12-04T02:00:01Z to 2026-12-04T02:00:05Z"
  std::string text() const {
    if (count == 1) return fmt::format("once, {}", to_second(first));
    return fmt::format("{} times, {}", count, span());
  }
  std::string span() const { return fmt::format("{} to {}", to_second(first), to_second(last)); }
};

bool probe_map(const MapRequest& m) {
  return m.type == TW_PROBE_MAP_TYPE && m.max_entries == 1 && m.key_size == 4 && m.value_size <= TW_PROBE_VALUE_SIZE;
}
bool probe_prog(const ProgRequest& p) {
  return p.type == TW_PROBE_PROG_TYPE && p.attach == TW_PROBE_ATTACH_TYPE && p.insns <= TW_PROBE_INSNS && !p.sleepable;
}

std::string name_of(vocab::EnumKind k, uint32_t v) { return vocab::name_or_number(k, v); }
std::string names(vocab::EnumKind k, uint64_t mask, const char* sep = ", ") { return vocab::mask_names(k, mask, sep); }
std::string cap_name(int cap) { return vocab::capability_name(cap); }

// What a refused capability switches off when the verifier asks it of a program whose type does
// not need it.
std::string granting_changes(int cap) {
  if (cap_name(cap) == "CAP_PERFMON")
    return "granting it lets the verifier\n  # accept pointer leaks and reads of uninitialised stack, and skip its Spectre v1 and v4 mitigations";
  if (cap_name(cap) == "CAP_BPF") return "granting it lets the JIT skip constant blinding for these programs";
  return "granting it gives these programs that privilege beyond what their loads needed";
}

uint32_t with_headroom(uint64_t v, unsigned percent) {
  uint64_t r = (v * (100 + percent) + 99) / 100;
  return static_cast<uint32_t>(std::min<uint64_t>(std::max<uint64_t>(r, v), UINT32_MAX - 1));
}

struct MapShape {
  MapRequest m;
  bool operator<(const MapShape& o) const {
    return std::tie(m.type, m.max_entries, m.key_size, m.value_size, m.flags) <
           std::tie(o.m.type, o.m.max_entries, o.m.key_size, o.m.value_size, o.m.flags);
  }
};
struct ProgShape {
  ProgRequest p;
  bool operator<(const ProgShape& o) const {
    return std::tie(p.type, p.attach, p.insns, p.sleepable) < std::tie(o.p.type, o.p.attach, o.p.insns, o.p.sleepable);
  }
};

// What one learning profile was seen deciding.
struct Observed {
  const IrProfile* profile = nullptr;
  size_t events = 0;
  std::string first, last;
  Seen tokens;
  uint64_t delegated[4] = {};  // union of the bpffs delegations
  const RecordedEvent* creation = nullptr;  // the first, for the cases' creator and token
  std::map<uint32_t, Seen> cmds, map_types, prog_types, attach_types;
  std::map<int, Seen> gating_caps, verifier_caps;  // the operations' own checks / the verifier's questions
  Seen probe_maps, probe_progs;
  std::set<MapShape> maps;
  std::set<ProgShape> progs;
  uint64_t max_entries = 0, key_size = 0, value_size = 0, insns = 0;
  bool sleepable = false;
  std::map<uint64_t, std::pair<uint32_t, uint32_t>> per_token;  // maps, programs (not probes)
  uint32_t most_maps() const {
    uint32_t m = 0;
    for (const auto& [t, n] : per_token) m = std::max(m, n.first);
    return m;
  }
  uint32_t most_progs() const {
    uint32_t m = 0;
    for (const auto& [t, n] : per_token) m = std::max(m, n.second);
    return m;
  }
};

// A creator fact the recorded creation lacks (its cgroup was gone when the events were read),
// taken from the learning profile's match where it says `== "value"`.
std::optional<std::string> from_match(const IrProfile& p, Attr attr) {
  for (const auto& c : p.match)
    for (const auto& a : c.atoms)
      if (a.attr == attr && !a.negated && a.strings.size() == 1) return a.strings[0];
  return std::nullopt;
}

class Writer {
 public:
  Writer(const std::vector<Stmt>& statements, const SourceSet& sources, const GenerateOptions& o)
      : statements_(statements), sources_(sources), o_(o) {}

  void profile(const Observed& ob) {
    const IrProfile& p = *ob.profile;
    std::string& t = policy_;
    t += fmt::format("\nprofile {} {{\n", p.name);
    t += fmt::format("  # learned from {} events, {}\n", ob.events, Seen{ob.events, ob.first, ob.last}.span());
    for (const Stmt* m : matches(p.name)) t += "  " + std::string(sources_.text(m->span)) + "\n";
    if (matches(p.name).empty()) t += "  match never;  # the learning profile's match was not found\n";
    // What the profile grants, so that strict can be judged.
    uint64_t cmds = 0, maps = 0, progs = 0, attachs = 0;
    for (const auto& [v, s] : ob.cmds) cmds |= 1ULL << v;
    for (const auto& [v, s] : ob.map_types) maps |= 1ULL << v;
    for (const auto& [v, s] : ob.prog_types) progs |= 1ULL << v;
    for (const auto& [v, s] : ob.attach_types) attachs |= 1ULL << v;
    bool probes = ob.probe_maps.count || ob.probe_progs.count;
    uint64_t pm = probes ? TW_PROBE_MAPS : 0, pp = probes ? TW_PROBE_PROGS : 0, pa = probes ? TW_PROBE_ATTACHS : 0;
    uint64_t extra[4] = {ob.delegated[0] & ~cmds, ob.delegated[1] & ~(maps | pm), ob.delegated[2] & ~(progs | pp),
                         ob.delegated[3] & ~(attachs | pa)};
    const vocab::EnumKind kinds[4] = {vocab::EnumKind::cmd, vocab::EnumKind::map, vocab::EnumKind::prog, vocab::EnumKind::attach};
    std::string excess;
    for (int k = 0; k < 4; ++k)
      if (extra[k]) excess += fmt::format("{}{} {}", excess.empty() ? "" : "; ", vocab::kind_noun(kinds[k]), names(kinds[k], extra[k]));
    if (excess.empty())
      t += fmt::format("  strict;  # the bpffs of its {} token{} delegated only what was used\n", ob.tokens.count,
                       ob.tokens.count == 1 ? "" : "s");
    else
      t += fmt::format("  # not strict: the bpffs delegated more than was used ({}); narrow the delegation, then add `strict;`\n",
                       excess);
    for (const auto& [v, s] : ob.cmds) rule("cmd", name_of(vocab::EnumKind::cmd, v), s);
    for (const auto& [v, s] : ob.map_types) rule("map", name_of(vocab::EnumKind::map, v), s);
    for (const auto& [v, s] : ob.prog_types) rule("prog", name_of(vocab::EnumKind::prog, v), s);
    for (const auto& [v, s] : ob.attach_types) rule("attach", name_of(vocab::EnumKind::attach, v), s);
    for (const auto& [c, s] : ob.gating_caps) rule("cap", cap_name(c), s, "asked by the operations");
    for (const auto& [c, s] : ob.verifier_caps) {
      if (ob.gating_caps.contains(c)) continue;
      if (o_.grant_verifier_caps) {
        rule("cap", cap_name(c), s, "asked by the verifier (--grant-verifier-caps)");
      } else {
        t += fmt::format("  # not granted: {}, asked {} by the verifier, where a refusal\n"
                         "  # switches a privilege off and the load goes on; {}\n",
                         cap_name(c), s.text(), granting_changes(c));
      }
    }
    if (probes)
      t += fmt::format("  {:<34} # libbpf's feature probes (and maps and programs of their shape): {} map{}, {} program{}\n",
                       "allow probes;", ob.probe_maps.count, ob.probe_maps.count == 1 ? "" : "s", ob.probe_progs.count,
                       ob.probe_progs.count == 1 ? "" : "s");
    limit("max_entries", ob.max_entries, "largest map");
    limit("key_size", ob.key_size, "largest key");
    limit("value_size", ob.value_size, "largest value");
    if (!ob.maps.empty()) limit("maps", ob.most_maps(), "most maps of one token");
    if (!ob.progs.empty()) {
      limit("progs", ob.most_progs(), "most programs of one token");
      limit("insns", ob.insns, "largest program");
      if (!ob.sleepable) t += fmt::format("  {:<34} # no sleepable program was loaded\n", "forbid sleepable;");
    }
    t += "}\n";
    cases(ob, extra);
  }

  std::string policy_;
  std::string cases_;

 private:
  std::vector<const Stmt*> matches(const std::string& profile) const {
    std::vector<const Stmt*> out;
    for (const auto& s : statements_)
      if (s.kind == Stmt::Kind::profile && s.target.text == profile)
        for (const auto& b : s.body)
          if (b.kind == Stmt::Kind::match) out.push_back(&b);
    return out;
  }

  void rule(const char* kind, const std::string& what, const Seen& s, const std::string& note = "") {
    std::string stmt = fmt::format("allow {} {};", kind, what);
    policy_ += fmt::format("  {:<34} # {}{}\n", stmt, note.empty() ? "" : note + ", ", s.text());
  }

  void limit(const char* what, uint64_t observed, const char* noun) {
    if (!observed) return;
    std::string stmt = fmt::format("limit {} {};", what, with_headroom(observed, o_.headroom_percent));
    policy_ += fmt::format("  {:<34} # {} seen: {}, plus {}%\n", stmt, noun, observed, o_.headroom_percent);
  }

  void cases(const Observed& ob, const uint64_t extra[4]) {
    const IrProfile& p = *ob.profile;
    const Event& c = ob.creation->event;
    std::string creator = fmt::format("uid={} gid={} comm={}", c.creator.uid, c.creator.gid, c.creator.comm);
    auto exe = ob.creation->exe_known ? std::optional(c.creator.exe) : from_match(p, Attr::exe);
    auto cgroup = ob.creation->cgroup_known ? std::optional(c.creator.cgroup) : from_match(p, Attr::cgroup_is);
    if (!cgroup) cgroup = from_match(p, Attr::cgroup_under);
    if (exe) creator += " exe=" + *exe;
    if (cgroup) creator += " cgroup=" + *cgroup;
    std::string token = fmt::format("cmds={} maps={} progs={} attachs={} owner={} depth={}",
                                    names(vocab::EnumKind::cmd, ob.delegated[0], ","), names(vocab::EnumKind::map, ob.delegated[1], ","),
                                    names(vocab::EnumKind::prog, ob.delegated[2], ","),
                                    names(vocab::EnumKind::attach, ob.delegated[3], ","), c.token.userns_owner, c.token.userns_depth);
    if (auto bpffs = from_match(p, Attr::bpffs)) token += " bpffs=" + *bpffs;
    std::string& t = cases_;
    t += fmt::format("\n# profile {}\n\n[defaults]\ncreator = {}\ntoken   = {}\n", p.name, creator, token);
    auto section = [&](const std::string& title, const std::string& body, bool allow) {
      t += fmt::format("\n[{}: {}]\n{}expect = {} {}\n", p.name, title, body, allow ? "allow" : "deny", p.name);
    };
    section(fmt::format("a token as created, {}", ob.tokens.text()), "hook   = token_create\n", true);
    for (const auto& [v, s] : ob.cmds)
      section(fmt::format("command {}, {}", name_of(vocab::EnumKind::cmd, v), s.text()),
              fmt::format("hook   = token_cmd\ncmd    = {}\n", name_of(vocab::EnumKind::cmd, v)), true);
    for (const auto& [cap, s] : ob.gating_caps)
      section(fmt::format("{}, {}", cap_name(cap), s.text()), fmt::format("hook   = token_capable\ncap    = {}\n", cap_name(cap)), true);
    for (const auto& [cap, s] : ob.verifier_caps)
      if (!ob.gating_caps.contains(cap))
        section(fmt::format("{} asked by the verifier, {}{}", cap_name(cap), s.text(), o_.grant_verifier_caps ? "" : ": not granted"),
                fmt::format("hook   = token_capable\ncap    = {}\n", cap_name(cap)), o_.grant_verifier_caps);
    for (const auto& m : ob.maps)
      section(fmt::format("a map as created: {} of {} entries", name_of(vocab::EnumKind::map, m.m.type), m.m.max_entries),
              fmt::format("hook   = map_create\nmap    = type={} max_entries={} key_size={} value_size={}\n",
                          name_of(vocab::EnumKind::map, m.m.type), m.m.max_entries, m.m.key_size, m.m.value_size),
              true);
    for (const auto& g : ob.progs)
      section(fmt::format("a program as loaded: {} of {} instructions", name_of(vocab::EnumKind::prog, g.p.type), g.p.insns),
              fmt::format("hook   = prog_load\nprog   = type={} attach={} insns={}{}\n", name_of(vocab::EnumKind::prog, g.p.type),
                          name_of(vocab::EnumKind::attach, g.p.attach), g.p.insns, g.p.sleepable ? " sleepable=yes" : ""),
              true);
    // What the delegation allowed and was not used: refused. The cases' token is the observed
    // delegation, which for a strict profile is what was used, so its creation is allowed.
    for (uint32_t b = 0; b < 64; ++b) {
      if (extra[0] & (1ULL << b))
        section(fmt::format("command {}: delegated, never used", name_of(vocab::EnumKind::cmd, b)),
                fmt::format("hook   = token_cmd\ncmd    = {}\n", name_of(vocab::EnumKind::cmd, b)), false);
      if (extra[1] & (1ULL << b))
        section(fmt::format("map type {}: delegated, never used", name_of(vocab::EnumKind::map, b)),
                fmt::format("hook   = map_create\nmap    = type={} max_entries=2 key_size=8 value_size=8\n", name_of(vocab::EnumKind::map, b)),
                false);
      if (extra[2] & (1ULL << b)) {
        uint32_t attach = ob.attach_types.empty() ? 0 : ob.attach_types.begin()->first;
        section(fmt::format("program type {}: delegated, never used", name_of(vocab::EnumKind::prog, b)),
                fmt::format("hook   = prog_load\nprog   = type={} attach={} insns=64\n", name_of(vocab::EnumKind::prog, b),
                            name_of(vocab::EnumKind::attach, attach)),
                false);
      }
      if ((extra[3] & (1ULL << b)) && !ob.prog_types.empty())
        section(fmt::format("attach type {}: delegated, never used", name_of(vocab::EnumKind::attach, b)),
                fmt::format("hook   = prog_load\nprog   = type={} attach={} insns=64\n",
                            name_of(vocab::EnumKind::prog, ob.prog_types.begin()->first), name_of(vocab::EnumKind::attach, b)),
                false);
    }
    // One past each limit.
    if (!ob.maps.empty() && ob.max_entries) {
      const MapRequest& m = ob.maps.rbegin()->m;
      section("a map over the max_entries limit",
              fmt::format("hook   = map_create\nmap    = type={} max_entries={} key_size={} value_size={}\n",
                          name_of(vocab::EnumKind::map, m.type), with_headroom(ob.max_entries, o_.headroom_percent) + 1ULL,
                          m.key_size, m.value_size),
              false);
    }
    if (!ob.progs.empty()) {
      const ProgRequest& g = ob.progs.rbegin()->p;
      section("a program over the insns limit",
              fmt::format("hook   = prog_load\nprog   = type={} attach={} insns={}\n", name_of(vocab::EnumKind::prog, g.type),
                          name_of(vocab::EnumKind::attach, g.attach), with_headroom(ob.insns, o_.headroom_percent) + 1ULL),
              false);
      if (!ob.sleepable)
        section("a sleepable program",
                fmt::format("hook   = prog_load\nprog   = type={} attach={} insns={} sleepable=yes\n",
                            name_of(vocab::EnumKind::prog, g.type), name_of(vocab::EnumKind::attach, g.attach), g.insns),
                false);
    }
  }

  const std::vector<Stmt>& statements_;
  const SourceSet& sources_;
  const GenerateOptions& o_;
};

}  // namespace

std::optional<Generated> generate(const std::vector<Stmt>& statements, const SourceSet& sources, const Ir& ir,
                                  const EventLog& log, const GenerateOptions& o, Diagnostics& diags) {
  std::map<std::string, Observed> seen;
  // The capability checks of one bpf() call through a token (from its bpf_token_cmd to the next
  // one of the same thread), decided when the call ends: in a program load, CAP_PERFMON is the
  // load's own requirement for the types that need it, and otherwise the verifier's question
  // (asked before the bpf_prog_load hook on 7.x, after it on 6.12), which only switches a
  // privilege off when refused. Every other check is the call's own.
  struct Call {
    Observed* ob = nullptr;
    std::vector<std::pair<int, std::string>> caps;  // capability, time
    std::optional<uint32_t> prog_type;
  };
  std::map<uint32_t, Call> calls;  // by thread
  const auto perfmon = vocab::capability_by_name("CAP_PERFMON");
  auto end_call = [&](Call& c) {
    for (const auto& [cap, time] : c.caps) {
      bool verifier = c.prog_type && cap == perfmon && !(vocab::perfmon_prog_types() & (1ULL << *c.prog_type));
      (verifier ? c.ob->verifier_caps : c.ob->gating_caps)[cap].add(time);
    }
    c = Call{};
  };
  for (const auto& r : log.events) {
    if (r.verdict == Outcome::deny || r.profile.empty()) continue;  // refused: the workload did not get it
    const IrProfile* p = ir.find(r.profile);
    if (!p) continue;
    Observed& ob = seen[r.profile];
    ob.profile = p;
    if (!ob.events++) ob.first = r.time;
    ob.last = r.time;
    const Event& e = r.event;
    Call& call = calls[r.tid];
    switch (e.hook) {
      case Hook::token_create:
        ob.tokens.add(r.time);
        if (!ob.creation) ob.creation = &r;
        ob.delegated[0] |= e.token.cmds;
        ob.delegated[1] |= e.token.maps;
        ob.delegated[2] |= e.token.progs;
        ob.delegated[3] |= e.token.attachs;
        ob.per_token[r.token];
        break;
      case Hook::token_cmd:
        if (call.ob) end_call(call);
        call.ob = &ob;
        ob.cmds[e.cmd].add(r.time);
        break;
      case Hook::token_capable:
        call.ob = call.ob ? call.ob : &ob;
        call.caps.emplace_back(e.cap, r.time);
        break;
      case Hook::map_create:
        if (probe_map(e.map)) {
          ob.probe_maps.add(r.time);
          break;
        }
        ob.map_types[e.map.type].add(r.time);
        ob.maps.insert({e.map});
        ob.max_entries = std::max<uint64_t>(ob.max_entries, e.map.max_entries);
        ob.key_size = std::max<uint64_t>(ob.key_size, e.map.key_size);
        ob.value_size = std::max<uint64_t>(ob.value_size, e.map.value_size);
        ++ob.per_token[r.token].first;
        break;
      case Hook::prog_load:
        call.prog_type = e.prog.type;
        if (probe_prog(e.prog)) {
          ob.probe_progs.add(r.time);
          break;
        }
        ob.prog_types[e.prog.type].add(r.time);
        ob.attach_types[e.prog.attach].add(r.time);
        ob.progs.insert({e.prog});
        ob.insns = std::max<uint64_t>(ob.insns, e.prog.insns);
        ob.sleepable |= e.prog.sleepable;
        ++ob.per_token[r.token].second;
        break;
    }
  }
  for (auto& [tid, c] : calls)
    if (c.ob) end_call(c);
  std::vector<const Observed*> profiles;
  for (const auto& p : ir.profiles)
    if (auto it = seen.find(p.name); it != seen.end() && it->second.creation) profiles.push_back(&it->second);
  if (profiles.empty()) {
    uint32_t file = log.events.empty() ? kNoFile : log.events.front().span.file;
    diags.report(Code::E043, log.events.empty() ? Span{} : Span{file, 0, 0},
                 fmt::format("no token creation in the events was labelled by a profile of policy `{}`", ir.name))
        .hint("record with the learning policy loaded with `--log-allowed`, so that allowed creations are events too");
    return std::nullopt;
  }
  Writer w(statements, sources, o);
  std::string name = o.policy_name.empty() ? ir.name + "-learned" : o.policy_name;
  std::string first = profiles.front()->first, last = profiles.front()->last;
  size_t events = 0;
  for (const auto* ob : profiles) {
    events += ob->events;
    first = std::min(first, ob->first);
    last = std::max(last, ob->last);
  }
  w.policy_ = fmt::format(
      "# Generated by `tokenwarden generate` from {} events decided under policy `{}`, {} to {}.\n"
      "# Limits are the observed maxima plus {}%. Review it, `tokenwarden check` it, `tokenwarden replay`\n"
      "# the events against it, then load it.\n"
      "policy {};\n\ndefault {};\npreexisting {};\n",
      events, ir.name, to_second(first), to_second(last), o.headroom_percent, name, ir.default_allow ? "allow" : "deny",
      ir.preexisting == Preexisting::allow ? "allow" : "deny");
  w.cases_ = fmt::format("# Decision cases generated by `tokenwarden generate` with {}.tw: every decision observed\n"
                         "# (allowed), and a refusal for what the delegation allowed and was never used.\n",
                         name);
  for (const auto& p : ir.profiles)
    if (!seen.contains(p.name) || !seen.at(p.name).creation)
      w.policy_ += fmt::format("\n# profile {}: no token of it was seen; not generated\n", p.name);
  for (const auto* ob : profiles) w.profile(*ob);
  return Generated{w.policy_, w.cases_, profiles.size(), events};
}

}  // namespace tw::compiler
