// SPDX-License-Identifier: Apache-2.0
#include "ir_io.h"

#include <fmt/format.h>

#include <limits>

#include "vocab/names.h"
#include "json_text.h"

namespace tw::compiler {

using nlohmann::json;

namespace {

std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }

// A number that must fit `T` exactly: nlohmann's get<uint32_t>() wraps -1 and truncates 2^40.
template <class T>
T exact(const json& j, const char* what) {
  if (!j.is_number_integer()) throw std::invalid_argument(std::string(what) + " is not an integer");
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max()))
      throw std::out_of_range(fmt::format("{} {} is out of range", what, v));
    return static_cast<T>(v);
  }
  int64_t v = j.get<int64_t>();
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) || v > static_cast<int64_t>(std::numeric_limits<T>::max()))
    throw std::out_of_range(fmt::format("{} {} is out of range", what, v));
  return static_cast<T>(v);
}

uint64_t parse_hex(const json& j) {
  std::string s = j.get<std::string>();
  size_t used = 0;
  uint64_t v = std::stoull(s, &used, 16);
  if (used != s.size()) throw std::invalid_argument("bad hex " + s);
  return v;
}

std::string_view preexisting_name(Preexisting p) {
  switch (p) {
    case Preexisting::allow: return "allow";
    case Preexisting::deny: return "deny";
    case Preexisting::profile: return "profile";
  }
  return "deny";
}

json atom_json(const Atom& a) {
  json j = {{"attr", static_cast<int>(a.attr)}};
  if (a.negated) j["negated"] = true;
  if (attr_is_numeric(a.attr)) {
    json r = json::array();
    for (const auto& [lo, hi] : a.ints.ranges()) r.push_back({lo, hi});
    j["ranges"] = r;
  } else if (a.attr == Attr::delegates) {
    j["kind"] = static_cast<int>(a.kind);
    j["mask"] = hex(a.mask);
    j["all"] = a.all;
  } else {
    j["strings"] = a.strings;
  }
  return j;
}

Atom atom_from(const json& j) {
  Atom a;
  int attr = j.at("attr").get<int>();
  if (attr < 0 || attr >= static_cast<int>(kAttrCount)) throw std::out_of_range("attribute");
  a.attr = static_cast<Attr>(attr);
  a.negated = j.value("negated", false);
  if (attr_is_numeric(a.attr)) {
    std::vector<std::pair<uint32_t, uint32_t>> r;
    for (const auto& p : j.at("ranges")) {
      uint32_t lo = exact<uint32_t>(p.at(0), "range start"), hi = exact<uint32_t>(p.at(1), "range end");
      if (lo > hi) throw std::invalid_argument(fmt::format("{} range {}..{} is inverted", attr_name(a.attr), lo, hi));
      if (hi > attr_max(a.attr))
        throw std::out_of_range(fmt::format("{} range {}..{} exceeds {}", attr_name(a.attr), lo, hi, attr_max(a.attr)));
      r.emplace_back(lo, hi);
    }
    a.ints = IntervalSet(std::move(r));
  } else if (a.attr == Attr::delegates) {
    int kind = j.at("kind").get<int>();
    if (kind < 0 || kind > 3) throw std::out_of_range("kind");
    a.kind = static_cast<vocab::EnumKind>(kind);
    a.mask = parse_hex(j.at("mask"));
    a.all = j.at("all").get<bool>();
  } else {
    a.strings = j.at("strings").get<std::vector<std::string>>();
    std::sort(a.strings.begin(), a.strings.end());
  }
  return a;
}

}  // namespace

namespace {

json profile_json(const IrProfile& p) {
  json match = json::array();
  for (const auto& c : p.match) {
    json atoms = json::array();
    for (const auto& a : c.atoms) atoms.push_back(atom_json(a));
    match.push_back(atoms);
  }
  json grants = json::object();
  for (size_t k = 0; k < kGrantKinds; ++k) grants[std::string(grant_kind_name(static_cast<GrantKind>(k)))] = hex(p.grants.mask[k]);
  json refs = json::array();
  for (const auto& r : p.grant_refs) refs.push_back({grant_kind_name(r.kind), hex(r.mask), r.rule});
  // Limits as [value, rule index].
  json limits = json::object();
  for (size_t k = 0; k < kLimitKinds; ++k)
    if (p.limits.value[k] != kUnlimited)
      limits[std::string(limit_name(static_cast<LimitKind>(k)))] = {p.limits.value[k], p.limits.rule[k]};
  if (p.limits.forbidden_map_flags) limits["forbidden_map_flags"] = {p.limits.forbidden_map_flags, p.limits.map_flags_rule};
  if (!p.limits.sleepable) limits["no_sleepable"] = {0, p.limits.sleepable_rule};
  if (p.limits.probes) limits["probes"] = {1, p.limits.probes_rule};
  if (p.limits.reserve_tokens) limits["reserve_tokens"] = {p.limits.reserve_tokens, p.limits.reserve_rule};
  // Per-type limits as [kind, map types, value, rule index].
  for (const auto& t : p.limits.per_type) limits["for_map"].push_back({limit_name(t.kind), hex(t.map_types), t.value, t.rule});
  return {{"name", p.name},       {"id", hex(p.id)},         {"order", p.order},   {"match", match},
          {"refuse", p.refuse},   {"strict", p.strict},      {"mode", mode_name(p.mode)},
          {"errno", p.deny_errno}, {"grants", grants},       {"grant_refs", refs}, {"limits", limits},
          {"where", p.where}};
}

// The policy-wide part: settings and the rule table.
json policy_json(const Ir& ir) {
  json rules = json::array();
  for (const auto& r : ir.rules) rules.push_back({r.where, r.text});
  return {{"name", ir.name},
          {"source", ir.source},
          {"target_kernel", ir.target_kernel},
          {"default", ir.default_allow ? "allow" : "deny"},
          {"preexisting", preexisting_name(ir.preexisting)},
          {"preexisting_profile", ir.preexisting_profile},
          {"mode", mode_name(ir.mode)},
          {"errno", ir.deny_errno},
          {"rules", rules}};
}

void policy_from_json(const json& j, Ir& ir) {
  ir.name = j.at("name").get<std::string>();
  ir.source = j.at("source").get<std::string>();
  ir.target_kernel = j.at("target_kernel").get<std::string>();
  std::string def = j.at("default").get<std::string>();
  if (def != "allow" && def != "deny") throw std::invalid_argument("default \"" + def + "\" is neither allow nor deny");
  ir.default_allow = def == "allow";
  std::string pre = j.at("preexisting").get<std::string>();
  if (pre != "allow" && pre != "deny" && pre != "profile")
    throw std::invalid_argument("preexisting \"" + pre + "\" is not allow, deny or profile");
  ir.preexisting = pre == "allow" ? Preexisting::allow : pre == "profile" ? Preexisting::profile : Preexisting::deny;
  ir.preexisting_profile = j.at("preexisting_profile").get<std::string>();
  auto mode = mode_from_name(j.at("mode").get<std::string>());
  if (!mode) throw std::invalid_argument("mode");
  ir.mode = *mode;
  ir.deny_errno = exact<int>(j.at("errno"), "errno");
  for (const auto& jr : j.at("rules")) ir.rules.push_back({jr.at(0).get<std::string>(), jr.at(1).get<std::string>()});
}

IrProfile profile_from_json(const json& jp, const Ir& ir) {
  auto rule_index = [&](const json& v) {
    uint32_t r = exact<uint32_t>(v, "rule index");
    if (r != kNoRule && r >= ir.rules.size()) throw std::out_of_range("rule index");
    return r;
  };
  IrProfile p;
  p.name = jp.at("name").get<std::string>();
  p.id = parse_hex(jp.at("id"));
  p.order = exact<uint32_t>(jp.at("order"), "order");
  if (p.order != ir.profiles.size()) throw std::invalid_argument("profile order");
  for (const auto& jc : jp.at("match")) {
    Conjunction c;
    for (const auto& ja : jc) c.atoms.push_back(atom_from(ja));
    p.match.push_back(std::move(c));
  }
  p.refuse = jp.at("refuse").get<bool>();
  p.strict = jp.at("strict").get<bool>();
  auto pm = mode_from_name(jp.at("mode").get<std::string>());
  if (!pm) throw std::invalid_argument("profile mode");
  p.mode = *pm;
  p.deny_errno = exact<int>(jp.at("errno"), "errno");
  for (size_t k = 0; k < kGrantKinds; ++k)
    p.grants.mask[k] = parse_hex(jp.at("grants").at(std::string(grant_kind_name(static_cast<GrantKind>(k)))));
  for (const auto& jr : jp.at("grant_refs")) {
    GrantRef r;
    std::string kind = jr.at(0).get<std::string>();
    bool found = false;
    for (size_t k = 0; k < kGrantKinds; ++k)
      if (grant_kind_name(static_cast<GrantKind>(k)) == kind) r.kind = static_cast<GrantKind>(k), found = true;
    if (!found) throw std::invalid_argument("grant kind " + kind);
    r.mask = parse_hex(jr.at(1));
    r.rule = rule_index(jr.at(2));
    p.grant_refs.push_back(r);
  }
  const json& jl = jp.at("limits");
  for (size_t k = 0; k < kLimitKinds; ++k) {
    std::string n(limit_name(static_cast<LimitKind>(k)));
    if (jl.contains(n)) {
      p.limits.value[k] = exact<uint32_t>(jl.at(n).at(0), n.c_str());
      if (p.limits.value[k] == kUnlimited)
        throw std::out_of_range(fmt::format("limit {} {} is out of range (at most {})", n, kUnlimited, kUnlimited - 1));
      p.limits.rule[k] = rule_index(jl.at(n).at(1));
    }
  }
  if (jl.contains("forbidden_map_flags")) {
    p.limits.forbidden_map_flags = exact<uint32_t>(jl.at("forbidden_map_flags").at(0), "forbidden_map_flags");
    p.limits.map_flags_rule = rule_index(jl.at("forbidden_map_flags").at(1));
  }
  if (jl.contains("probes")) {
    p.limits.probes = true;
    p.limits.probes_rule = rule_index(jl.at("probes").at(1));
  }
  if (jl.contains("reserve_tokens")) {
    p.limits.reserve_tokens = exact<uint32_t>(jl.at("reserve_tokens").at(0), "reserve_tokens");
    p.limits.reserve_rule = rule_index(jl.at("reserve_tokens").at(1));
  }
  if (jl.contains("for_map"))
    for (const json& jt : jl.at("for_map")) {
      TypeLimit t;
      auto kind = jt.at(0).get<std::string>();
      auto k = limit_from_name(kind);
      if (!k || !limit_is_map_size(*k)) throw std::invalid_argument("per-type limit " + kind);
      t.kind = *k;
      t.map_types = parse_hex(jt.at(1));
      if (!t.map_types) throw std::invalid_argument("per-type limit " + kind + " names no map type");
      t.value = exact<uint32_t>(jt.at(2), kind.c_str());
      if (t.value == kUnlimited)
        throw std::out_of_range(fmt::format("limit {} {} is out of range (at most {})", kind, kUnlimited, kUnlimited - 1));
      t.rule = rule_index(jt.at(3));
      p.limits.per_type.push_back(t);
    }
  if (jl.contains("no_sleepable")) {
    p.limits.sleepable = false;
    p.limits.sleepable_rule = rule_index(jl.at("no_sleepable").at(1));
  }
  p.where = jp.at("where").get<std::string>();
  if (p.id != profile_identity(p.name)) throw std::invalid_argument("identity of profile " + p.name + " does not match its name");
  return p;
}

}  // namespace

json ir_to_json(const Ir& ir) {
  json j = policy_json(ir);
  json profiles = json::array();
  for (const auto& p : ir.profiles) profiles.push_back(profile_json(p));
  j["profiles"] = std::move(profiles);
  return j;
}

std::optional<Ir> ir_from_json(const json& j, std::string& error) {
  try {
    Ir ir;
    policy_from_json(j, ir);
    for (const auto& jp : j.at("profiles")) ir.profiles.push_back(profile_from_json(jp, ir));
    return ir;
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::string ir_to_json_lines(const Ir& ir) {
  std::string out = dump_json(policy_json(ir)) + "\n";
  for (const auto& p : ir.profiles) out += dump_json(profile_json(p)) + "\n";
  return out;
}

std::optional<Ir> ir_from_json_lines(std::string_view text, std::vector<IrProblem>& problems) {
  Ir ir;
  uint32_t line_no = 0;
  size_t before = problems.size();
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    // Each line on its own, so that every bad profile is named, not only the first.
    try {
      json j = json::parse(line);
      if (line_no == 1) {
        policy_from_json(j, ir);
      } else {
        ir.profiles.push_back(profile_from_json(j, ir));
      }
    } catch (const std::exception& e) {
      problems.push_back({line_no, e.what()});
      if (line_no == 1) return std::nullopt;  // profiles refer to its rule table
      IrProfile placeholder;                  // keeps the order of the ones after it
      placeholder.order = static_cast<uint32_t>(ir.profiles.size());
      ir.profiles.push_back(std::move(placeholder));
    }
  }
  if (line_no == 0) problems.push_back({1, "empty payload"});
  if (problems.size() != before) return std::nullopt;
  return ir;
}

std::string grant_names(GrantKind k, uint64_t mask) {
  if (!mask) return "none";
  std::string s;
  for (uint32_t b = 0; b < 64; ++b) {
    if (!(mask & (1ULL << b))) continue;
    std::string n;
    if (k == GrantKind::cap) {
      n = fmt::format("cap{}", b);
      for (const auto& c : vocab::token_capabilities())
        if (c.value == static_cast<int>(b)) n = c.name;
    } else {
      n = vocab::builtin_table(static_cast<vocab::EnumKind>(static_cast<int>(k))).name_of(b).value_or(std::to_string(b));
    }
    s += (s.empty() ? "" : ", ") + n;
  }
  return s;
}

std::string atom_text(const Atom& a) {
  std::string not_ = a.negated ? "not " : "";
  if (attr_is_numeric(a.attr)) return fmt::format("{} in {}", attr_name(a.attr), a.ints.str());
  if (a.attr == Attr::delegates)
    return fmt::format("{}token delegates {} {} {}", not_, a.all ? "all" : "any",
                       grant_kind_name(static_cast<GrantKind>(static_cast<int>(a.kind))),
                       grant_names(static_cast<GrantKind>(static_cast<int>(a.kind)), a.mask));
  std::string values;
  for (const auto& s : a.strings) values += (values.empty() ? "\"" : ", \"") + s + "\"";
  if (a.attr == Attr::cgroup_under) return fmt::format("{}{} {}", not_, attr_name(a.attr), values);
  return fmt::format("{}{} in {}", not_, attr_name(a.attr), values);
}

std::string ir_to_text(const Ir& ir) {
  std::string out = fmt::format("policy {}\n  default {}, preexisting {}{}, mode {}, errno {}\n", ir.name,
                                ir.default_allow ? "allow" : "deny", preexisting_name(ir.preexisting),
                                ir.preexisting == Preexisting::profile ? " " + ir.preexisting_profile : "",
                                mode_name(ir.mode), vocab::errno_name(ir.deny_errno));
  if (!ir.target_kernel.empty()) out += fmt::format("  target kernel {}\n", ir.target_kernel);
  for (const auto& p : ir.profiles) {
    out += fmt::format("profile #{} {} id={:#018x} mode={} errno={}{}{}\n", p.order, p.name, p.id, mode_name(p.mode),
                       vocab::errno_name(p.deny_errno), p.refuse ? " refuse" : "", p.strict ? " strict" : "");
    if (p.match.empty()) out += "  match: never\n";
    for (size_t i = 0; i < p.match.size(); ++i) {
      std::string conj;
      for (const auto& a : p.match[i].atoms) conj += (conj.empty() ? "" : " and ") + atom_text(a);
      out += fmt::format("  match{}: {}\n", p.match.size() > 1 ? fmt::format("[{}]", i) : "", conj.empty() ? "any" : conj);
    }
    for (size_t k = 0; k < kGrantKinds; ++k) {
      auto gk = static_cast<GrantKind>(k);
      if (p.grants[gk]) out += fmt::format("  allow {}: {}\n", grant_kind_name(gk), grant_names(gk, p.grants[gk]));
    }
    for (size_t k = 0; k < kLimitKinds; ++k)
      if (p.limits.value[k] != kUnlimited)
        out += fmt::format("  {}\n", limit_statement(static_cast<LimitKind>(k), p.limits.value[k]));
    for (const auto& t : p.limits.per_type)
      out += fmt::format("  limit {} {} for map {}\n", limit_name(t.kind), t.value, grant_names(GrantKind::map, t.map_types));
    if (p.limits.forbidden_map_flags) {
      std::string names;
      for (const auto& f : vocab::map_flags())
        if (p.limits.forbidden_map_flags & (1u << f.bit)) names += (names.empty() ? "" : ", ") + vocab::to_lower(f.name);
      out += fmt::format("  forbid map_flags {}\n", names);
    }
    if (!p.limits.sleepable) out += "  forbid sleepable\n";
    if (p.limits.probes) out += "  allow probes\n";
    if (p.limits.reserve_tokens) out += fmt::format("  reserve tokens {}\n", p.limits.reserve_tokens);
  }
  return out;
}

}  // namespace tw::compiler
