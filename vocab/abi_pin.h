// SPDX-License-Identifier: Apache-2.0
// The ABI's vocabulary as each TW_ABI_VERSION froze it. A build's programs and loader always
// agree (both are generated from the same tables), but a policy pinned by another build does
// not: its programs keep their numbering until `replace` swaps them, and `status` and `audit`
// read its events and counters. So renumbering an attribute, a hook, a reason or an errno must
// come with a new TW_ABI_VERSION, and this file makes the build fail until it does.
//
// After changing attr.def, hook.def, reason.def, errno.def or guard.def: bump TW_ABI_VERSION in tw_abi.h
// and append the new tables' fingerprint, which this prints:
//   bash tests/vocab/abi_pin_test.sh . c++ --print
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>

#include "names.h"

namespace tw::vocab {

// Index: TW_ABI_VERSION. 0 marks versions from before the tables (1 to 3).
inline constexpr uint64_t kPinnedVocabulary[] = {
    0, 0, 0, 0,
    0x58aef69270366b21ULL,  // 4
    0x4c578b82aa0228c0ULL,  // 5: the guard (guard.def, reason GUARD)
    0x0292a18c85b6c252ULL,  // 6: `limit tokens` (TW_LIM_TOKENS, reason TOKENS_QUOTA, the `live` map)
    0xebbe38daa585c5b5ULL,  // 7: per-type map sizes, maps and programs per profile, reserved token slots (tw_live, the `objects` and `pool` maps)
    0x5b713fd5c6d35304ULL,  // 8: live tokens per creator (TW_LIM_UID_TOKENS, TW_LIM_USERNS_TOKENS, the `creators` map)
    0x5b713fd5c6d35304ULL,  // 9: the event carries the facts of its decision (delegation, user namespace, map sizes, instructions)
};

static_assert(std::size(kPinnedVocabulary) == TW_ABI_VERSION + 1,
              "TW_ABI_VERSION has no pinned vocabulary: append this build's fingerprint to kPinnedVocabulary");
static_assert(kPinnedVocabulary[TW_ABI_VERSION] == fingerprint(kAbiVocabulary),
              "attr.def, hook.def, reason.def, errno.def or guard.def changed the ABI's numbering: bump TW_ABI_VERSION "
              "in vocab/tw_abi.h and pin the new fingerprint here (vocab/abi_pin.h)");

}  // namespace tw::vocab
