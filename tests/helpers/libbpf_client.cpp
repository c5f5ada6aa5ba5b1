// SPDX-License-Identifier: Apache-2.0
// tw-libbpf-client: a libbpf skeleton application with no token code of its own, as most BPF
// applications are: open and load the demo object (an array map, a socket filter) and report.
// Under systemd's PrivateBPF= libbpf finds the token on /sys/fs/bpf by itself (libbpf >= 1.4).
// Linked statically, so that one build runs on the VM's Debian testing system too.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "demo.skel.h"

int main() {
  demo* skel = demo::open_and_load();
  if (!skel) {
    std::fprintf(stderr, "tw-libbpf-client: demo open_and_load: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("TW-SKELETON-LOADED map fd %d, program fd %d\n", bpf_map__fd(skel->maps.demo_counter),
              bpf_program__fd(skel->progs.demo_filter));
  demo::destroy(skel);
  return 0;
}
