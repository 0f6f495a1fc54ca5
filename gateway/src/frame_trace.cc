#include "csms/gateway/frame_trace.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "csms/common/log.h"
#include "csms/common/ocpp_redact.h"
#include "csms/common/time_util.h"

namespace csms::gateway {

FrameTrace::FrameTrace(std::string dir, size_t max_bytes, int keep_files)
    : dir_(std::move(dir)), max_bytes_(max_bytes), keep_files_(std::max(1, keep_files)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) CSMS_LOG(kError, "gateway") << "cannot create trace dir " << dir_ << ": " << ec.message();
  // Frames carry personal data (idTokens): the files are for the operator's eyes only.
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);
  CSMS_LOG(kWarn, "gateway") << "--trace-dir records every OCPP frame, idTokens included, in "
                             << dir_ << "; keep it off where that is not wanted";
}

FrameTrace::~FrameTrace() {
  for (auto& [id, file] : files_) {
    if (file->handle != nullptr) std::fclose(file->handle);
  }
}

std::string FrameTrace::FileNameFor(std::string_view charger_id) {
  std::string safe;
  bool replaced = charger_id.empty();
  for (unsigned char c : charger_id.substr(0, 64)) {
    if (std::isalnum(c) || c == '_' || c == '-') {
      safe += static_cast<char>(c);
    } else {
      safe += '_';
      replaced = true;
    }
  }
  if (charger_id.size() > 64) replaced = true;
  if (replaced) {
    uint32_t hash = 2166136261u;  // FNV-1a: stable, and enough to keep ids apart
    for (unsigned char c : charger_id) hash = (hash ^ c) * 16777619u;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "~%08x", hash);
    safe += suffix;
  }
  return "ocpp_" + safe + ".jsonl";
}

FrameTrace::File& FrameTrace::FileFor(const std::string& charger_id) {
  std::lock_guard lock(mu_);
  auto& slot = files_[charger_id];
  if (!slot) {
    slot = std::make_unique<File>();
    slot->path = dir_ + "/" + FileNameFor(charger_id);
  }
  return *slot;
}

void FrameTrace::Rotate(File& file) {
  if (file.handle != nullptr) {
    std::fclose(file.handle);
    open_handles_.fetch_sub(1);
  }
  file.handle = nullptr;
  std::error_code ec;
  for (int i = keep_files_ - 1; i >= 1; --i) {
    std::string from = i == 1 ? file.path : file.path + "." + std::to_string(i - 1);
    std::filesystem::rename(from, file.path + "." + std::to_string(i), ec);
  }
  if (keep_files_ == 1) std::filesystem::remove(file.path, ec);
  file.size = 0;
}

void FrameTrace::Record(const std::string& charger_id, const std::string& connection_id,
                        std::string_view direction, std::string_view frame) {
  nlohmann::json line = {{"ts", FormatRfc3339(RealClock().Now(), /*millis=*/true)},
                         {"dir", direction},
                         {"conn", connection_id},
                         // Secrets never reach the disk (passwords, KeyCode tokens, keys).
                         {"frame", ocpp::RedactFrame(frame)}};
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  File& file = FileFor(charger_id);
  std::lock_guard lock(file.mu);
  if (file.size + text.size() > max_bytes_ && file.size > 0) Rotate(file);
  if (file.handle == nullptr) {
    int fd = ::open(file.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    file.handle = fd >= 0 ? ::fdopen(fd, "a") : nullptr;
    if (file.handle == nullptr) {
      if (fd >= 0) ::close(fd);
      return;
    }
    open_handles_.fetch_add(1);
    struct stat st;
    file.size = ::stat(file.path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  }
  std::fwrite(text.data(), 1, text.size(), file.handle);
  std::fflush(file.handle);
  file.size += text.size();
  // Many stations must not use up the descriptors chargers need: past the cap, a file is opened
  // for each frame and closed again.
  if (open_handles_.load() > kMaxOpenFiles) {
    std::fclose(file.handle);
    file.handle = nullptr;
    open_handles_.fetch_sub(1);
  }
}

}  // namespace csms::gateway
