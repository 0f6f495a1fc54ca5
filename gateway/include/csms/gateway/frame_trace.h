#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace csms::gateway {

// The seed's per-charger message dump, done safely: every OCPP frame in and out is appended as
// one JSON line to <dir>/ocpp_<station>.jsonl; a file that grows past max_bytes is rotated
// (.1 … .<keep_files-1>). Thread-safe; each charger's file has its own lock.
class FrameTrace {
 public:
  FrameTrace(std::string dir, size_t max_bytes, int keep_files);
  ~FrameTrace();

  // direction: "in" (charger → CSMS) or "out".
  void Record(const std::string& charger_id, const std::string& connection_id,
              std::string_view direction, std::string_view frame);

  // The file name for a station id: only [A-Za-z0-9_-] survive, anything else becomes '_', and
  // a short hash of the original id is added when something had to be replaced, so distinct
  // ids never share a file and no id can reach outside the trace folder.
  static std::string FileNameFor(std::string_view charger_id);

 private:
  struct File {
    std::mutex mu;
    std::FILE* handle = nullptr;
    size_t size = 0;
    std::string path;
  };
  File& FileFor(const std::string& charger_id);
  void Rotate(File& file);

  std::string dir_;
  size_t max_bytes_;
  int keep_files_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<File>> files_;
  static constexpr int kMaxOpenFiles = 256;
  std::atomic<int> open_handles_{0};
};

}  // namespace csms::gateway
