#include "cli/socket_cleanup.h"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace rrx {
namespace {

// Filled before the handlers are installed; the handler only reads them
// (unlink, rmdir and raise are async-signal-safe).
char socket_file[PATH_MAX];
char socket_dir[PATH_MAX];

void remove_and_die(int sig) {
  unlink(socket_file);
  rmdir(socket_dir);
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

void remove_socket_on_fatal_signals(const std::string& socket_path) {
  std::string dir = socket_path.substr(0, socket_path.rfind('/'));
  if (socket_path.size() >= sizeof socket_file || dir.empty()) return;
  std::strcpy(socket_file, socket_path.c_str());
  std::strcpy(socket_dir, dir.c_str());
  for (int sig : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) {
    struct sigaction old;
    if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler == SIG_IGN) continue;
    struct sigaction action = {};
    action.sa_handler = remove_and_die;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(sig, &action, nullptr);
  }
}

}  // namespace rrx
