// SPDX-License-Identifier: Apache-2.0
// `tokenwarden replay EVENTS --policy CANDIDATE`: the recorded events run through the reference
// evaluator under a candidate policy, in the order they were recorded, against the verdicts the
// kernel gave. Each token is labelled again by the candidate from its creation's facts; its uses
// are decided under that label with the counts the replay keeps (the token's maps and programs),
// and the counts a quota refusal recorded. What the events cannot say is reported, not guessed:
// a token whose creation is not in the recording, a creation whose creator's cgroup or
// executable was gone when it was read (or a bpffs, which events do not carry) while the
// candidate's matching tests it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "event_log.h"
#include "evaluator.h"
#include "ir.h"

namespace tw::compiler {

enum class Change {
  same,           // the candidate decides as the kernel did
  newly_refused,  // allowed then, refused (or audited as refused) now
  newly_allowed,  // refused (or audited) then, allowed now
  mode,           // refused both times, once enforced and once only audited
};
std::string_view change_name(Change c);  // "same", "newly_refused", "newly_allowed", "mode"

struct ReplayedEvent {
  const RecordedEvent* recorded = nullptr;
  bool decided = false;  // false: undecidable or without its token's creation
  std::string why_not;   // when not decided
  Decision now;
  Change change = Change::same;
};

// The changes of one kind, grouped by the candidate's deciding profile and rule and what was asked.
struct ChangeGroup {
  Change change = Change::same;
  std::string profile, rule, hook, what, reason;  // reason: the candidate's, for the first event
  Outcome was = Outcome::allow, now = Outcome::allow;
  size_t count = 0;
  std::string first, last;  // event times
};

struct ReplayReport {
  std::vector<ReplayedEvent> events;
  size_t same = 0, newly_refused = 0, newly_allowed = 0, mode = 0;
  size_t undecidable = 0;       // the candidate's matching tests a fact the events lack
  size_t without_creation = 0;  // uses of tokens created before the recording
  size_t recorded_allowed = 0;  // the kernel's `allow` events (none: counts cannot be kept)
  std::vector<ChangeGroup> changes;  // every change but `same`, in order of first appearance
};

ReplayReport replay(const Ir& candidate, const EventLog& log);

// How an event is named in reports: "map hash", "CAP_PERFMON", "prog xdp attach xdp", "token".
std::string event_what(const Event& e);

}  // namespace tw::compiler
