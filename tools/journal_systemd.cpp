// SPDX-License-Identifier: Apache-2.0
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "journal.h"

namespace tw::tools {

bool journal_available() { return true; }

int journal_send(const JournalFields& fields) {
  std::vector<std::string> items;
  items.reserve(fields.size());
  for (const auto& [name, value] : fields) items.push_back(name + "=" + value);
  std::vector<iovec> iov;
  iov.reserve(items.size());
  for (auto& s : items) iov.push_back({s.data(), s.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
}

}  // namespace tw::tools
