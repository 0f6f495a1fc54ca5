#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace csms::testing {

// A child process started for a test (a real csms binary); stderr goes to `log_path`.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  bool Start(const std::string& binary, const std::vector<std::string>& args,
             const std::string& log_path, const std::map<std::string, std::string>& env = {});
  // Sends `signal` and waits; returns the exit code (128 + signal if killed by one, -1 on
  // timeout after which the process is SIGKILLed).
  int Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool Running();
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string ReadLog() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// True once something accepts TCP connections on 127.0.0.1:port.
bool WaitForPort(int port, std::chrono::milliseconds timeout);

}  // namespace csms::testing
