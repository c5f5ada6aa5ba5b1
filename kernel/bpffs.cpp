// SPDX-License-Identifier: Apache-2.0
#include "bpffs.h"

#include <grp.h>
#include <sys/prctl.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <iterator>
#include <fstream>

namespace tw::kernel {
namespace {

// One fixed-size message per SEQPACKET datagram.
struct Msg {
  enum Kind : int { ok = 1, error = 2, fd = 3 } kind;
  int err;
  char op[96];
  char detail[256];
};

Msg make_error(const Error& e) {
  Msg m{};
  m.kind = Msg::error;
  m.err = e.err;
  std::snprintf(m.op, sizeof m.op, "%s", e.op.c_str());
  std::snprintf(m.detail, sizeof m.detail, "%s", e.detail.c_str());
  return m;
}

bool send_msg(int sock, const Msg& m, int fd = -1) {
  iovec iov{const_cast<Msg*>(&m), sizeof m};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    h.msg_control = buf;
    h.msg_controllen = sizeof buf;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return sendmsg(sock, &h, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof m);
}

// Receives one message; a passed fd lands in *fd. A closed peer reads as an error message.
Msg recv_msg(int sock, int* fd = nullptr) {
  Msg m{};
  iovec iov{&m, sizeof m};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  h.msg_control = buf;
  h.msg_controllen = sizeof buf;
  ssize_t n = recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
  if (n != static_cast<ssize_t>(sizeof m)) {
    return make_error(Error{"delegation handshake", n < 0 ? errno : EPIPE,
                            "the other side exited before finishing the handshake"});
  }
  if (fd) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        std::memcpy(fd, CMSG_DATA(c), sizeof(int));
  }
  return m;
}

Error to_error(const Msg& m) { return Error{m.op, m.err, m.detail}; }

Status write_file(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open", path);
  ssize_t n = write(fd, data.data(), data.size());
  int saved = errno;
  close(fd);
  if (n != static_cast<ssize_t>(data.size())) {
    errno = saved;
    return errno_error("write", path + " <- " + data);
  }
  return ok_status();
}

// Child side, up to handing fs_fd to the parent. Returns the fs fd, or an Error.
Result<UniqueFd> child_enter_namespaces(uid_t uid, gid_t gid) {
  if (uid != getuid()) {
    // Become that host uid first: a user namespace may map only its creator's own uid.
    if (setgroups(0, nullptr) != 0) return errno_error("setgroups");
    if (setresgid(gid, gid, gid) != 0) return errno_error("setresgid", std::to_string(gid));
    if (setresuid(uid, uid, uid) != 0) return errno_error("setresuid", std::to_string(uid));
    // A uid change makes the process non-dumpable, which leaves /proc/self (uid_map, ...) to root.
    if (prctl(PR_SET_DUMPABLE, 1) != 0) return errno_error("prctl(PR_SET_DUMPABLE)");
  }
  if (unshare(CLONE_NEWUSER) != 0) return errno_error("unshare(CLONE_NEWUSER)");
  if (auto s = write_file("/proc/self/setgroups", "deny"); !s) return s.error();
  if (auto s = write_file("/proc/self/uid_map", fmt::format("0 {} 1", uid)); !s) return s.error();
  if (auto s = write_file("/proc/self/gid_map", fmt::format("0 {} 1", gid)); !s) return s.error();
  if (unshare(CLONE_NEWNS) != 0) return errno_error("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return errno_error("mount(/, MS_REC|MS_PRIVATE)");
  int fs_fd = fsopen("bpf", FSOPEN_CLOEXEC);
  if (fs_fd < 0) return errno_error("fsopen(bpf)", "inside the new user namespace");
  return UniqueFd(fs_fd);
}

Result<DelegatedMount> child_mount(int fs_fd, const std::string& mount_at) {
  DelegatedMount m;
  int mnt = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return errno_error("fsmount");
  m.mnt_fd.reset(mnt);
  if (!mount_at.empty()) {
    if (move_mount(mnt, "", AT_FDCWD, mount_at.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
      return errno_error("move_mount", mount_at);
    m.mounted_at = mount_at;
  }
  int root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return errno_error("openat(mnt_fd, \".\")");
  m.root_fd.reset(root);
  return m;
}

[[noreturn]] void run_child(int sock, const DelegateSpec& spec,
                            const std::function<int(DelegatedMount&)>& body, uid_t uid, gid_t gid,
                            pid_t parent) {
  auto fs = child_enter_namespaces(uid, gid);
  if (!fs) {
    send_msg(sock, make_error(fs.error()));
    _exit(kDelegateSetupFailed);
  }
  Msg hello{};
  hello.kind = Msg::fd;
  if (!send_msg(sock, hello, fs->get())) _exit(kDelegateSetupFailed);
  Msg reply = recv_msg(sock);
  if (reply.kind != Msg::ok) _exit(kDelegateSetupFailed);  // the parent reports its own error
  auto mount = child_mount(fs->get(), spec.mount_at);
  if (!mount) {
    send_msg(sock, make_error(mount.error()));
    _exit(kDelegateSetupFailed);
  }
  fs->reset();
  // After every credential change (they clear the parent-death signal), and survives execve.
  if (spec.supervise && (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)) _exit(kDelegateSetupFailed);
  Msg ready{};
  ready.kind = Msg::ok;
  send_msg(sock, ready);
  close(sock);
  int code;
  try {
    code = body(*mount);
  } catch (...) {
    code = kDelegateSetupFailed + 1;
  }
  std::fflush(nullptr);
  _exit(code);
}

volatile sig_atomic_t supervised_child = 0;

void forward_signal(int sig, siginfo_t* info, void*) {
  // A terminal's SIGINT or SIGHUP (si_code SI_KERNEL) reached the child's process group too.
  if (supervised_child > 0 && info->si_code <= 0) kill(supervised_child, sig);
}

// SIGTERM, SIGINT and SIGHUP forwarded to the supervised child while the caller waits for it:
// blocked from construction (before the fork) until forward_to() has installed the handlers, and
// the caller's handlers and mask restored at destruction.
class Supervision {
 public:
  explicit Supervision(bool on) : on_(on) {
    if (!on_) return;
    sigemptyset(&forwarded_);
    for (int sig : kForwarded) sigaddset(&forwarded_, sig);
    sigprocmask(SIG_BLOCK, &forwarded_, &mask_);
  }
  Supervision(const Supervision&) = delete;
  Supervision& operator=(const Supervision&) = delete;
  ~Supervision() {
    if (!on_) return;
    if (installed_) {
      for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &saved_[i], nullptr);
      supervised_child = 0;
    }
    sigprocmask(SIG_SETMASK, &mask_, nullptr);
  }
  void in_child() {
    if (on_) sigprocmask(SIG_SETMASK, &mask_, nullptr);
  }
  void forward_to(pid_t pid) {
    if (!on_) return;
    supervised_child = pid;
    struct sigaction sa {};
    sa.sa_sigaction = forward_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kForwarded); ++i) sigaction(kForwarded[i], &sa, &saved_[i]);
    installed_ = true;
    sigprocmask(SIG_UNBLOCK, &forwarded_, nullptr);  // one sent since the fork is delivered now
  }

 private:
  static constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP};
  bool on_;
  bool installed_ = false;
  sigset_t forwarded_{}, mask_{};
  struct sigaction saved_[std::size(kForwarded)] = {};
};

// The child's wait status, once it has exited.
int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Its exit code, or 128 + the signal that killed it, as a shell gives it.
int wait_child(pid_t pid) {
  int status = wait_status(pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> delegate_fsconfig_options(
    const DelegationMasks& masks) {
  std::vector<std::pair<std::string, std::string>> out;
  for (vocab::EnumKind kind : vocab::kAllKinds) {
    uint64_t mask = masks.of(kind);
    if (mask == 0) continue;
    out.emplace_back(fmt::format("delegate_{}", vocab::option_suffix(kind)),
                     format_fsconfig_value(vocab::builtin_table(kind), mask));
  }
  return out;
}

Result<int> run_in_delegated_userns(const DelegateSpec& spec,
                                    const std::function<int(DelegatedMount&)>& body) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return errno_error("socketpair");
  UniqueFd parent_sock(sv[0]), child_sock(sv[1]);
  uid_t uid = spec.host_uid ? *spec.host_uid : getuid();
  gid_t gid = spec.host_uid ? *spec.host_uid : getgid();
  std::fflush(nullptr);  // do not duplicate buffered output into the child
  pid_t parent = getpid();
  // Supervised, the signals are forwarded from the fork on: blocked across it, so that one sent
  // while the child is being set up (or has just exec'd its command) reaches the child instead of
  // killing the caller. The child gets the caller's mask back before anything else.
  Supervision supervision(spec.supervise);
  pid_t pid = fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    supervision.in_child();
    parent_sock.reset();
    run_child(child_sock.get(), spec, body, uid, gid, parent);
  }
  supervision.forward_to(pid);
  child_sock.reset();

  auto fail = [&](const Error& e) -> Result<int> {
    send_msg(parent_sock.get(), make_error(e));
    parent_sock.reset();
    wait_child(pid);
    return e;
  };
  // The child gone during set-up: killed by a signal forwarded to it, that is its status, as a
  // shell gives it; else what it said went wrong.
  auto gone = [&](const Msg& said) -> Result<int> {
    int status = wait_status(pid);
    if (spec.supervise && WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return to_error(said);
  };

  int raw_fs = -1;
  Msg first = recv_msg(parent_sock.get(), &raw_fs);
  UniqueFd fs_fd(raw_fs);
  if (first.kind != Msg::fd || !fs_fd.valid()) return gone(first);
  auto options = delegate_fsconfig_options(spec.masks);
  options.insert(options.end(), spec.raw_options.begin(), spec.raw_options.end());
  for (const auto& [key, value] : options) {
    if (fsconfig(fs_fd.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) != 0)
      return fail(errno_error(fmt::format("fsconfig({})", key), value));
  }
  if (fsconfig(fs_fd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail(errno_error("fsconfig(FSCONFIG_CMD_CREATE)", "bpffs"));
  fs_fd.reset();
  Msg ok{};
  ok.kind = Msg::ok;
  send_msg(parent_sock.get(), ok);
  Msg ready = recv_msg(parent_sock.get());
  parent_sock.reset();
  if (ready.kind != Msg::ok) return gone(ready);
  return wait_child(pid);
}

}  // namespace tw::kernel
