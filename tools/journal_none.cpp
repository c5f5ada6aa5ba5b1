// SPDX-License-Identifier: Apache-2.0
#include <cerrno>

#include "journal.h"

namespace tw::tools {

bool journal_available() { return false; }
int journal_send(const JournalFields&) { return -ENOSYS; }

}  // namespace tw::tools
