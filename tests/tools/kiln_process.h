// Runs the real `kiln` binary (KILN_BINARY) the way a user's shell would, for CLI tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace kiln::testing {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout, and stderr too when asked for
};

inline RunResult RunKiln(const std::string& args, bool with_stderr = false) {
  std::string command = std::string(KILN_BINARY) + " " + args + (with_stderr ? " 2>&1" : "");
  RunResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) r.output.append(buffer, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace kiln::testing
