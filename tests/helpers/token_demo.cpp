// SPDX-License-Identifier: Apache-2.0
// tw-token-demo: what a workload inside a delegated user namespace sees.
//   tw-token-demo [--libbpf] [map:TYPE | prog:TYPE | btf]...
// Creates a token from $LIBBPF_BPF_TOKEN_PATH (default /sys/fs/bpf), prints its masks, tries
// each requested operation with the token, and with --libbpf loads a skeleton without passing a
// token (libbpf must find it itself). Exit 0 only if every requested operation succeeded.
#include <fcntl.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "demo.skel.h"
#include "kernel/bpf.h"
#include "vocab/catalogue.h"
#include "vocab/names.h"

using namespace tw::kernel;
using namespace tw::vocab;

namespace {
int silent(libbpf_print_level, const char*, va_list) { return 0; }
}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("LIBBPF_BPF_TOKEN_PATH");
  std::string path = env && *env ? env : "/sys/fs/bpf";
  bool failed = false;

  UniqueFd bpffs(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd token;
  if (!bpffs.valid()) {
    fmt::print("token: cannot open {}: {}\n", path, std::strerror(errno));
    failed = true;
  } else if (auto t = token_create(bpffs.get()); !t) {
    fmt::print("token: {}\n", t.error().message());
    failed = true;
  } else {
    token = std::move(*t);
    auto info = fdinfo(token.get());
    fmt::print("token: created from {} (allowed_cmds {}, allowed_maps {}, allowed_progs {}, allowed_attachs {})\n",
               path, (*info)["allowed_cmds"], (*info)["allowed_maps"], (*info)["allowed_progs"],
               (*info)["allowed_attachs"]);
  }

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--libbpf") {
      libbpf_set_print(silent);
      demo* skel = demo::open_and_load();
      if (skel) {
        fmt::print("libbpf: skeleton loaded (array map + socket filter), token picked up implicitly\n");
        demo::destroy(skel);
      } else {
        fmt::print("libbpf: skeleton load failed: {} ({})\n", std::strerror(errno), errno_name(errno));
        failed = true;
      }
      continue;
    }
    auto colon = arg.find(':');
    std::string what = arg.substr(0, colon);
    std::string type = colon == std::string::npos ? "" : arg.substr(colon + 1);
    Result<UniqueFd> r = Error{"usage", EINVAL, arg};
    if (what == "map") {
      auto v = lookup_any_spelling(builtin_table(EnumKind::map), type);
      MapSpec spec;
      spec.type = v.value_or(0);
      if (spec.type == BPF_MAP_TYPE_HASH || spec.type == BPF_MAP_TYPE_LRU_HASH) spec.max_entries = 16;
      if (spec.type == BPF_MAP_TYPE_QUEUE || spec.type == BPF_MAP_TYPE_STACK) spec.key_size = 0;
      r = map_create(spec, token.get());
    } else if (what == "prog") {
      ProgSpec spec;
      spec.type = lookup_any_spelling(builtin_table(EnumKind::prog), type).value_or(0);
      r = prog_load(spec, token.get());
    } else if (what == "btf") {
      r = btf_load(minimal_btf(), token.get());
    }
    if (r) {
      fmt::print("{} {}: created with token\n", what, type);
    } else {
      fmt::print("{} {}: {}\n", what, type, r.error().message());
      failed = true;
    }
  }
  return failed ? 1 : 0;
}
