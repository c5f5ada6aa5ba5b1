// SPDX-License-Identifier: Apache-2.0
// The agent's pure parts: folding repeats into one entry with a count, and the metrics text.
#include <doctest/doctest.h>

#include <cstring>

#include "aggregate.h"
#include "metrics.h"

using namespace tw::tools;

namespace {

constexpr uint64_t kSecond = 1000000000ULL;

tw_event event(uint32_t hook, uint32_t what, uint32_t tgid, uint64_t profile = 7) {
  tw_event e{};
  e.hook = hook;
  e.what = what;
  e.tgid = tgid;
  e.pid = tgid;
  e.profile_id = profile;
  e.verdict = TW_V_DENY;
  e.reason = TW_R_CAP;
  return e;
}

}  // namespace

TEST_CASE("agent: the first event of a kind goes out at once, its repeats as one summary") {
  Aggregator a(10 * kSecond, 100);
  auto first = a.add(event(TW_HOOK_TOKEN_CAPABLE, 38, 100), 0);
  REQUIRE(first);
  CHECK(first->count == 1);
  CHECK_FALSE(first->summary);
  // The verifier asks 16 more times, from the same process and one other.
  for (int i = 0; i < 15; ++i) CHECK_FALSE(a.add(event(TW_HOOK_TOKEN_CAPABLE, 38, 100), kSecond));
  CHECK_FALSE(a.add(event(TW_HOOK_TOKEN_CAPABLE, 38, 101), 2 * kSecond));
  // Another capability is another kind.
  CHECK(a.add(event(TW_HOOK_TOKEN_CAPABLE, 39, 100), 2 * kSecond));
  CHECK(a.kinds() == 2);
  CHECK(a.expire(9 * kSecond).empty());  // the window is still open
  auto ended = a.expire(10 * kSecond);
  REQUIRE(ended.size() == 1);  // CAP 39 had no repeats: nothing to summarise
  CHECK(ended[0].summary);
  CHECK(ended[0].count == 16);
  CHECK(ended[0].processes == 2);
  CHECK(ended[0].first.what == 38);
  CHECK(a.kinds() == 1);  // CAP 39's window opened at 2 s
  // After the window, the next one is a first again.
  CHECK(a.add(event(TW_HOOK_TOKEN_CAPABLE, 38, 100), 11 * kSecond));
}

TEST_CASE("agent: profile, verdict and reason tell kinds apart; memory stays bounded") {
  Aggregator a(10 * kSecond, 2);
  CHECK(a.add(event(TW_HOOK_MAP_CREATE, 1, 1, 7), 0));
  CHECK(a.add(event(TW_HOOK_MAP_CREATE, 1, 1, 8), 0));  // another profile
  tw_event audited = event(TW_HOOK_MAP_CREATE, 1, 1, 7);
  audited.verdict = TW_V_AUDIT;
  CHECK(a.add(audited, 0));  // a third kind: over max_kinds, passed on but not remembered
  CHECK(a.kinds() == 2);
  CHECK(a.add(audited, 0));  // so its repeat is passed on too, never lost
  CHECK(a.expire(0, true).empty());
}

TEST_CASE("agent: the metrics are Prometheus text with every family typed") {
  tw::kernel::EnforcerStatus st;
  st.loaded = true;
  st.policy_name = "web\"prod";
  st.policy_sha256 = "abc";
  st.generation = 3;
  st.token_capacity = 65536;
  st.stats.dropped_ringbuf = 2;
  tw::kernel::ProfileCounters c;
  c.id = 7;
  c.allowed[TW_HOOK_TOKEN_CREATE] = 5;
  c.denied[TW_HOOK_MAP_CREATE] = 1;
  c.live_tokens = 4;
  st.counters.push_back(c);
  std::string m = openmetrics(st, {{7, "agent"}});
  CHECK(m.find("tokenwarden_policy_info{policy=\"web\\\"prod\",sha256=\"abc\"} 1\n") != std::string::npos);
  CHECK(m.find("tokenwarden_policy_generation 3\n") != std::string::npos);
  CHECK(m.find("tokenwarden_decisions_total{profile=\"agent\",hook=\"bpf_token_create\",verdict=\"allow\"} 5\n") !=
        std::string::npos);
  CHECK(m.find("tokenwarden_decisions_total{profile=\"agent\",hook=\"bpf_map_create\",verdict=\"deny\"} 1\n") !=
        std::string::npos);
  CHECK(m.find("tokenwarden_tokens{profile=\"agent\"} 4\n") != std::string::npos);
  CHECK(m.find("tokenwarden_events_dropped_total{cause=\"ring_buffer_full\"} 2\n") != std::string::npos);
  CHECK(m.find("tokenwarden_policy_complete 1\n") != std::string::npos);
  // Every sample's family has a TYPE line before it.
  std::string family;
  for (size_t at = 0; at < m.size();) {
    size_t end = m.find('\n', at);
    std::string line = m.substr(at, end - at);
    at = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) family = line.substr(7, line.find(' ', 7) - 7);
    else if (line[0] != '#') CHECK_MESSAGE(line.rfind(family, 0) == 0, line);
  }
  CHECK(label_escape("a\\b\nc") == "a\\\\b\\nc");
}
