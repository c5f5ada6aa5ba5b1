// SPDX-License-Identifier: Apache-2.0
// tw-libbpf-client: a libbpf skeleton application with no token code of its own, as most BPF
// applications are: open and load the demo object (an array map, a socket filter) and report.
// Under systemd's PrivateBPF= libbpf finds the token on /sys/fs/bpf by itself (libbpf >= 1.4).
// Linked statically, so that one build runs on the VM's Debian testing system too.
//
// `--one-more`: then one thing more, through a token of its own from /sys/fs/bpf: an array map
// of 4096 entries (what a workload grown since its policy was learned might do).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "demo.skel.h"

int one_more() {
  int bpffs = open("/sys/fs/bpf", O_RDONLY | O_DIRECTORY);
  int token = bpffs < 0 ? -1 : bpf_token_create(bpffs, nullptr);
  if (token < 0) {
    std::printf("TW-EXTRA-MAP no token: %s\n", std::strerror(errno));
    return 1;
  }
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_TOKEN_FD, .token_fd = static_cast<__u32>(token));
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tw_one_more", 4, 8, 4096, &opts);
  if (fd < 0) {
    std::printf("TW-EXTRA-MAP refused: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("TW-EXTRA-MAP created fd %d\n", fd);
  return 0;
}

int main(int argc, char** argv) {
  demo* skel = demo::open_and_load();
  if (!skel) {
    std::fprintf(stderr, "tw-libbpf-client: demo open_and_load: %s\n", std::strerror(errno));
    return 1;
  }
  std::printf("TW-SKELETON-LOADED map fd %d, program fd %d\n", bpf_map__fd(skel->maps.demo_counter),
              bpf_program__fd(skel->progs.demo_filter));
  std::fflush(stdout);
  int rc = argc > 1 && std::string(argv[1]) == "--one-more" ? one_more() : 0;
  demo::destroy(skel);
  return rc;
}
