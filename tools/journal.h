// SPDX-License-Identifier: Apache-2.0
// Where the agent's entries go. The packaged binary sends them to the journal with libsystemd's
// sd_journal_sendv (journal_systemd.cpp); the fully static binary of the VM tests cannot link
// libsystemd and has no journal (journal_none.cpp): its agent prints the messages instead.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tw::tools {

using JournalFields = std::vector<std::pair<std::string, std::string>>;  // {"TW_HOOK", "bpf_token_cmd"}

bool journal_available();
// MESSAGE and PRIORITY are fields like the others. 0, or a negative errno.
int journal_send(const JournalFields& fields);

}  // namespace tw::tools
