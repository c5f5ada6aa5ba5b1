// SPDX-License-Identifier: Apache-2.0
// tw-fake-pins ROOT: pins the enforcer's maps (tokenwarden.bpf.o's exact layout) under ROOT with
// no program loaded, as `tokenwarden load` would before it attaches: a pin root that `replace`,
// `status` and `unload` work on where the kernel refuses BPF LSM programs (the host's). No
// generation is written; the first `tokenwarden replace --pin-root ROOT` writes generation 1.
//   tw-fake-pins --map PATH: pins one small array map at PATH (a stale staging directory's
//   contents, for the cleanup tests).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "kernel/enforcer.h"
#include "tokenwarden.skel.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--map") {
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tw_fake", 4, 4, 1, nullptr);
    if (fd < 0 || bpf_obj_pin(fd, argv[2]) != 0) {
      fmt::print(stderr, "tw-fake-pins: {}: {}\n", argv[2], std::strerror(errno));
      return 1;
    }
    return 0;
  }
  if (argc != 2) {
    fmt::print(stderr, "usage: tw-fake-pins ROOT | --map PATH\n");
    return 2;
  }
  std::string root = argv[1];
  tokenwarden* skel = tokenwarden::open();
  if (!skel) return fmt::print(stderr, "tw-fake-pins: open: {}\n", std::strerror(errno)), 1;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) bpf_program__set_autoload(prog, false);
  if (int err = tokenwarden::load(skel)) return fmt::print(stderr, "tw-fake-pins: load maps: {}\n", std::strerror(-err)), 1;
  if (mkdir(root.c_str(), 0700) != 0) return fmt::print(stderr, "tw-fake-pins: mkdir {}: {}\n", root, std::strerror(errno)), 1;
  for (const auto& name : tw::kernel::pinned_map_names()) {
    bpf_map* m = bpf_object__find_map_by_name(skel->obj, name.c_str());
    std::string path = root + "/" + name;
    if (!m || bpf_obj_pin(bpf_map__fd(m), path.c_str()) != 0)
      return fmt::print(stderr, "tw-fake-pins: pin {}: {}\n", path, std::strerror(errno)), 1;
  }
  tokenwarden::destroy(skel);
  return 0;
}
