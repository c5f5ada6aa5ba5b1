// SPDX-License-Identifier: Apache-2.0
#include "cases.h"

#include <fmt/format.h>

#include "checker.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

namespace tw::compiler {
namespace {

struct Field {
  std::string key, value;
  Span key_span, value_span;
};

class CaseParser {
 public:
  CaseParser(const SourceSet& sources, uint32_t file, Diagnostics& diags)
      : sources_(sources), file_(file), text_(sources.file(file).text), diags_(diags) {}

  std::vector<DecisionCase> run() {
    std::vector<DecisionCase> out;
    Event defaults;
    DecisionCase* current = nullptr;
    bool in_defaults = false;
    bool has_expect = false;
    auto finish = [&] {
      if (current && !has_expect)
        diags_.report(Code::E003, current->span, fmt::format("case `{}` has no `expect = ...` line", current->name))
            .hint("expect = allow|deny|audit [PROFILE|-]");
    };
    size_t pos = 0;
    while (pos <= text_.size()) {
      size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      std::string_view line = text_.substr(pos, end - pos);
      size_t b = line.find_first_not_of(" \t\r");
      if (b != std::string_view::npos && line[b] != '#') {
        size_t e = line.find_last_not_of(" \t\r") + 1;
        Span span{file_, static_cast<uint32_t>(pos + b), static_cast<uint32_t>(pos + e)};
        std::string_view body = line.substr(b, e - b);
        if (body.front() == '[') {
          finish();
          if (body.back() != ']' || body.size() < 3) {
            diags_.report(Code::E003, span, "a section header is `[case name]`");
            current = nullptr;
          } else {
            std::string name(body.substr(1, body.size() - 2));
            in_defaults = name == "defaults";
            has_expect = false;
            if (in_defaults) {
              current = nullptr;
            } else {
              out.push_back(DecisionCase{name, span, defaults, {}});
              current = &out.back();
            }
          }
        } else {
          size_t eq = body.find('=');
          if (eq == std::string_view::npos) {
            diags_.report(Code::E003, span, "expected `key = value`");
          } else {
            Field f;
            size_t kend = body.substr(0, eq).find_last_not_of(" \t") + 1;
            f.key = vocab::to_lower(body.substr(0, kend));
            f.key_span = {file_, span.begin, static_cast<uint32_t>(span.begin + kend)};
            size_t vb = body.find_first_not_of(" \t", eq + 1);
            f.value = vb == std::string_view::npos ? "" : std::string(body.substr(vb));
            f.value_span = {file_, static_cast<uint32_t>(span.begin + (vb == std::string_view::npos ? eq + 1 : vb)), span.end};
            if (in_defaults) {
              field(f, defaults, nullptr);
            } else if (!current) {
              diags_.report(Code::E003, span, "a field outside any case")
                  .hint("start a case with `[name]`, or shared values with `[defaults]`");
            } else {
              if (f.key == "expect") has_expect = true;
              field(f, current->event, &current->expect);
            }
          }
        }
      }
      pos = end + 1;
    }
    finish();
    return out;
  }

 private:
  void bad(const Field& f, const std::string& msg, const std::string& hint = {}) {
    auto& d = diags_.report(Code::E030, f.value_span, msg);
    if (!hint.empty()) d.hint(hint);
  }

  std::optional<uint32_t> number(const Field& f, const std::string& v) {
    try {
      size_t used = 0;
      unsigned long long n = std::stoull(v, &used, 0);
      if (used == v.size() && n <= UINT32_MAX) return static_cast<uint32_t>(n);
    } catch (const std::exception&) {
    }
    bad(f, fmt::format("`{}` is not a number (0..4294967295)", v));
    return std::nullopt;
  }

  std::optional<uint32_t> enum_value(const Field& f, vocab::EnumKind kind, const std::string& v) {
    const auto& table = vocab::builtin_table(kind);
    if (auto x = vocab::lookup_any_spelling(table, v)) return x;
    auto& d = diags_.report(Code::E010, f.value_span, fmt::format("unknown {} `{}`", vocab::kind_noun(kind), v));
    if (auto dym = did_you_mean(vocab::suggest(table, v)); !dym.empty()) d.hint(dym);
    return std::nullopt;
  }

  uint64_t enum_mask(const Field& f, vocab::EnumKind kind, const std::string& list) {
    uint64_t m = 0;
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t comma = list.find(',', pos);
      std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (item == "any") m |= vocab::builtin_table(kind).any_mask();
      else if (!item.empty())
        if (auto v = enum_value(f, kind, item); v && *v < 64) m |= 1ULL << *v;
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return m;
  }

  std::optional<bool> boolean(const Field& f, const std::string& v) {
    std::string l = vocab::to_lower(v);
    if (l == "yes" || l == "true" || l == "1") return true;
    if (l == "no" || l == "false" || l == "0") return false;
    bad(f, fmt::format("`{}` is not yes or no", v));
    return std::nullopt;
  }

  // "k=v k2=v2" -> pairs
  std::vector<std::pair<std::string, std::string>> pairs(const Field& f) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t pos = 0;
    const std::string& s = f.value;
    while (pos < s.size()) {
      size_t b = s.find_first_not_of(" \t", pos);
      if (b == std::string::npos) break;
      size_t e = s.find_first_of(" \t", b);
      std::string item = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
      size_t eq = item.find('=');
      if (eq == std::string::npos) bad(f, fmt::format("`{}` should be `name=value`", item));
      else out.emplace_back(vocab::to_lower(item.substr(0, eq)), item.substr(eq + 1));
      pos = e == std::string::npos ? s.size() : e;
    }
    return out;
  }

  void unknown_key(const Field& f, const std::string& key, const std::vector<std::string>& known) {
    auto& d = diags_.report(Code::E011, f.value_span, fmt::format("unknown `{}` field `{}`", f.key, key));
    if (auto dym = did_you_mean(vocab::closest_names(key, known)); !dym.empty()) d.hint(dym);
  }

  void field(const Field& f, Event& e, Expectation* expect) {
    const std::string& k = f.key;
    if (k == "hook") {
      if (auto h = hook_from_name(f.value)) e.hook = *h;
      else bad(f, fmt::format("unknown hook `{}`", f.value), "token_create, token_cmd, token_capable, map_create, prog_load");
    } else if (k == "creator") {
      for (auto& [key, v] : pairs(f)) {
        if (key == "uid") { if (auto n = number(f, v)) e.creator.uid = *n; }
        else if (key == "gid") { if (auto n = number(f, v)) e.creator.gid = *n; }
        else if (key == "comm") e.creator.comm = v;
        else if (key == "exe") e.creator.exe = v;
        else if (key == "cgroup") e.creator.cgroup = v;
        else if (key == "selinux_type") e.creator.selinux_type = v;
        else if (key == "restarts") { if (auto n = number(f, v)) e.creator.cgroup_restarts = *n; }
        else if (key == "exe_replaced") { if (auto b = boolean(f, v)) e.creator.exe_replaced = *b; }
        else if (key == "exe_seen_at") e.creator.exe_seen_at = v;
        else unknown_key(f, key, {"uid", "gid", "comm", "exe", "cgroup", "selinux_type", "restarts", "exe_replaced",
                                  "exe_seen_at"});
      }
    } else if (k == "token") {
      for (auto& [key, v] : pairs(f)) {
        if (key == "cmds") e.token.cmds = enum_mask(f, vocab::EnumKind::cmd, v);
        else if (key == "maps") e.token.maps = enum_mask(f, vocab::EnumKind::map, v);
        else if (key == "progs") e.token.progs = enum_mask(f, vocab::EnumKind::prog, v);
        else if (key == "attachs") e.token.attachs = enum_mask(f, vocab::EnumKind::attach, v);
        else if (key == "bpffs") e.token.bpffs = v;
        else if (key == "owner") { if (auto n = number(f, v)) e.token.userns_owner = *n; }
        else if (key == "depth") { if (auto n = number(f, v)) e.token.userns_depth = *n; }
        else if (key == "delegator_type") e.token.delegator_type = v;
        else unknown_key(f, key, {"cmds", "maps", "progs", "attachs", "bpffs", "owner", "depth", "delegator_type"});
      }
    } else if (k == "map") {
      for (auto& [key, v] : pairs(f)) {
        if (key == "type") { if (auto x = enum_value(f, vocab::EnumKind::map, v)) e.map.type = *x; }
        else if (key == "max_entries") { if (auto n = number(f, v)) e.map.max_entries = *n; }
        else if (key == "key_size") { if (auto n = number(f, v)) e.map.key_size = *n; }
        else if (key == "value_size") { if (auto n = number(f, v)) e.map.value_size = *n; }
        else if (key == "flags") {
          for (size_t pos = 0; pos <= v.size();) {
            size_t comma = v.find(',', pos);
            std::string item = v.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            if (auto bit = vocab::map_flag_by_name(item)) e.map.flags |= 1u << *bit;
            else bad(f, fmt::format("unknown map flag `{}`", item));
            if (comma == std::string::npos) break;
            pos = comma + 1;
          }
        } else unknown_key(f, key, {"type", "max_entries", "key_size", "value_size", "flags"});
      }
    } else if (k == "prog") {
      for (auto& [key, v] : pairs(f)) {
        if (key == "type") { if (auto x = enum_value(f, vocab::EnumKind::prog, v)) e.prog.type = *x; }
        else if (key == "attach") { if (auto x = enum_value(f, vocab::EnumKind::attach, v)) e.prog.attach = *x; }
        else if (key == "insns") { if (auto n = number(f, v)) e.prog.insns = *n; }
        else if (key == "sleepable") { if (auto b = boolean(f, v)) e.prog.sleepable = *b; }
        else unknown_key(f, key, {"type", "attach", "insns", "sleepable"});
      }
    } else if (k == "cmd") {
      if (auto x = enum_value(f, vocab::EnumKind::cmd, f.value)) e.cmd = *x;
    } else if (k == "cap") {
      if (auto c = vocab::capability_by_name(f.value)) e.cap = *c;
      else bad(f, fmt::format("`{}` is not a token capability", f.value), "CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN");
    } else if (k == "maps_created") {
      if (auto n = number(f, f.value)) e.maps_created = *n;
    } else if (k == "progs_created") {
      if (auto n = number(f, f.value)) e.progs_created = *n;
    } else if (k == "tokens_live") {
      if (auto n = number(f, f.value)) e.tokens_live = *n;
    } else if (k == "uid_tokens_live") {
      if (auto n = number(f, f.value)) e.uid_tokens_live = *n;
    } else if (k == "userns_tokens_live") {
      if (auto n = number(f, f.value)) e.userns_tokens_live = *n;
    } else if (k == "shared_full") {
      if (auto b = boolean(f, f.value)) e.shared_full = *b;
    } else if (k == "maps_live") {
      if (auto n = number(f, f.value)) e.maps_live = *n;
    } else if (k == "progs_live") {
      if (auto n = number(f, f.value)) e.progs_live = *n;
    } else if (k == "preexisting") {
      if (auto b = boolean(f, f.value)) e.preexisting = *b;
    } else if (k == "expect") {
      if (!expect) {
        bad(f, "`expect` belongs to a case, not to [defaults]");
        return;
      }
      expectation(f, *expect);
    } else {
      auto& d = diags_.report(Code::E011, f.key_span, fmt::format("unknown field `{}`", f.key));
      auto dym = did_you_mean(vocab::closest_names(f.key, {"hook", "creator", "token", "map", "prog", "cmd", "cap",
                                                              "maps_created", "progs_created", "tokens_live", "uid_tokens_live",
                                                              "userns_tokens_live", "shared_full", "maps_live",
                                                              "progs_live", "preexisting",
                                                              "expect"}));
      if (!dym.empty()) d.hint(dym);
    }
  }

  void expectation(const Field& f, Expectation& x) {
    std::vector<std::string> words;
    size_t pos = 0;
    while (pos < f.value.size()) {
      size_t b = f.value.find_first_not_of(" \t", pos);
      if (b == std::string::npos) break;
      size_t e = f.value.find_first_of(" \t", b);
      words.push_back(f.value.substr(b, e == std::string::npos ? std::string::npos : e - b));
      pos = e == std::string::npos ? f.value.size() : e;
    }
    if (words.empty()) {
      bad(f, "empty expectation", "expect = allow|deny|audit [PROFILE|-] [errno=EPERM]");
      return;
    }
    std::string o = vocab::to_lower(words[0]);
    if (o == "allow") x.outcome = Outcome::allow;
    else if (o == "deny") x.outcome = Outcome::deny;
    else if (o == "audit") x.outcome = Outcome::audit;
    else bad(f, fmt::format("`{}` is not a verdict", words[0]), "allow, deny or audit");
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i].rfind("errno=", 0) == 0) {
        if (auto e = vocab::policy_errno(words[i].substr(6))) x.err = *e;
        else bad(f, fmt::format("unknown errno `{}`", words[i].substr(6)));
      } else if (!x.profile) {
        x.profile = words[i] == "-" ? "" : words[i];
      } else {
        bad(f, fmt::format("unexpected `{}`", words[i]), "expect = allow|deny|audit [PROFILE|-] [errno=EPERM]");
      }
    }
  }

  const SourceSet& sources_;
  uint32_t file_;
  std::string_view text_;
  Diagnostics& diags_;
};

}  // namespace

std::vector<DecisionCase> parse_cases(const SourceSet& sources, uint32_t file, Diagnostics& diags) {
  return CaseParser(sources, file, diags).run();
}

std::string describe(const Expectation& e) {
  std::string s(outcome_name(e.outcome));
  if (e.profile) s += e.profile->empty() ? " with no profile" : fmt::format(" by profile `{}`", *e.profile);
  if (e.err) s += " errno " + vocab::errno_name(*e.err);
  return s;
}

CaseResult run_case(const Ir& ir, const DecisionCase& c) {
  CaseResult r;
  r.c = &c;
  r.got = evaluate(ir, c.event);
  Expectation got{r.got.outcome, r.got.profile, r.got.err ? std::optional<int>(r.got.err) : std::nullopt};
  bool ok = got.outcome == c.expect.outcome;
  if (c.expect.profile && *c.expect.profile != r.got.profile) ok = false;
  if (c.expect.err && c.expect.err != got.err) ok = false;
  r.passed = ok;
  if (!ok) {
    Expectation shown = got;
    if (!c.expect.profile) shown.profile.reset();
    if (!c.expect.err) shown.err.reset();
    else if (!shown.err) shown.err = 0;
    r.diff = fmt::format("expected {}, got {}", describe(c.expect), describe(shown));
  }
  return r;
}

}  // namespace tw::compiler
