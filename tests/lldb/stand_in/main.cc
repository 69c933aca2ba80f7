// rrx-stand-in: mimics the command-line contract of the real backend that
// the lldb plugin relies on, serving a RerunTarget instead of a trace.
//
//   rrx-stand-in replay --serve [-s PORT] [TRACE]
//       prints "rrx: serving TRACE on unix:PATH" (or "on 127.0.0.1:PORT"),
//       then serves one debugger connection.
//   rrx-stand-in replay --info-exe [TRACE]
//       prints the recorded executable's path.
//
// A stand-in "trace" is a directory holding the program as `exe`. Without
// TRACE, $RRX_TRACE_DIR/latest-trace is used, as rrx does.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gdbserver/server_transport.h"
#include "stand_in/rerun_target.h"

namespace {

int usage() {
  fprintf(stderr, "usage: rrx-stand-in replay (--serve [-s PORT] | --info-exe) [TRACE]\n");
  return 2;
}

std::string default_trace() {
  const char* dir = getenv("RRX_TRACE_DIR");
  return std::string(dir ? dir : ".") + "/latest-trace";
}

int serve(const std::string& trace, int port) {
  std::string exe = trace + "/exe";
  if (access(exe.c_str(), X_OK) != 0) {
    fprintf(stderr, "rrx: %s is not a trace (no executable %s)\n", trace.c_str(), exe.c_str());
    return 1;
  }
  std::string error;
  auto transport = port < 0 ? rrx::ServerTransport::listen_unix(&error)
                            : rrx::ServerTransport::listen_tcp(port, &error);
  rrx::stand_in::RerunTarget target(exe);
  if (!transport || !target.start(&error)) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  printf("rrx: serving %s on %s%s\n", trace.c_str(), port < 0 ? "unix:" : "",
         transport->address().c_str());
  fflush(stdout);
  if (!transport->serve_one(&target, &error)) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string_view(argv[1]) != "replay") return usage();
  std::string_view mode = argv[2];
  int port = -1;
  int next = 3;
  if (mode == "--serve" && next < argc &&
      std::string_view(argv[next]) == "-s") {
    if (next + 1 >= argc) return usage();
    port = atoi(argv[next + 1]);
    next += 2;
  }
  if (argc > next + 1) return usage();
  std::string trace = next < argc ? argv[next] : default_trace();
  if (mode == "--info-exe") {
    printf("%s/exe\n", trace.c_str());
    return 0;
  }
  if (mode == "--serve") return serve(trace, port);
  return usage();
}
