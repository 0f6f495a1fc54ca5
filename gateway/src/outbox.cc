#include "csms/gateway/outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "csms/common/log.h"

namespace csms::gateway {
namespace {

constexpr const char* kLog = "gateway";
constexpr uint32_t kMaxRecordBytes = 4 * 1024 * 1024;

uint32_t Crc32(const std::string& data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t GetU32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Outbox::Outbox(std::string dir, Deliver deliver, Delivered delivered)
    : dir_(std::move(dir)),
      log_path_(dir_ + "/transaction-events.log"),
      offset_path_(dir_ + "/transaction-events.offset"),
      deliver_(std::move(deliver)),
      delivered_(std::move(delivered)) {}

Outbox::~Outbox() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

bool Outbox::Open(std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  fd_ = ::open(log_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    *error = "cannot open outbox " + log_path_ + ": " + std::strerror(errno);
    return false;
  }
  // Recover: find the last whole record; anything after it is a torn write.
  uint64_t offset = 0, next = 0;
  size_t records = 0;
  ocpp::v1::TransactionEvent scratch;
  while (ReadRecord(offset, &scratch, &next)) {
    offset = next;
    ++records;
  }
  struct stat st;
  if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) > offset) {
    CSMS_LOG(kWarn, kLog) << "outbox: cutting a torn record at byte " << offset;
    if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0 || ::fsync(fd_) != 0) {
      *error = "cannot repair outbox " + log_path_;
      return false;
    }
  }
  end_offset_ = offset;
  std::ifstream in(offset_path_);
  uint64_t delivered = 0;
  if (in >> delivered && delivered <= end_offset_) replay_offset_ = delivered;
  // Count what is still to deliver.
  for (uint64_t at = replay_offset_; at < end_offset_ && ReadRecord(at, &scratch, &next);
       at = next) {
    ++depth_;
  }
  if (depth_ > 0) {
    CSMS_LOG(kInfo, kLog) << "outbox: " << depth_ << " event(s) from an earlier run to replay";
  }
  return true;
}

void Outbox::Start() {
  writer_ = std::thread([this] { WriterLoop(); });
  replayer_ = std::thread([this] { ReplayLoop(); });
}

void Outbox::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  writer_cv_.notify_all();
  replay_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (replayer_.joinable()) replayer_.join();
}

bool Outbox::HasBacklog() const {
  std::lock_guard lock(mu_);
  return depth_ > 0;
}

size_t Outbox::depth() const {
  std::lock_guard lock(mu_);
  return depth_;
}

void Outbox::Append(const ocpp::v1::TransactionEvent& event, std::function<void(bool)> done) {
  std::string payload = event.SerializeAsString();
  std::string record;
  record.reserve(payload.size() + 8);
  PutU32(record, static_cast<uint32_t>(payload.size()));
  PutU32(record, Crc32(payload));
  record += payload;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      done(false);
      return;
    }
    ++depth_;
    pending_.push_back({std::move(record), std::move(done)});
  }
  writer_cv_.notify_one();
}

void Outbox::WriterLoop() {
  for (;;) {
    std::deque<PendingAppend> batch;
    {
      std::unique_lock lock(mu_);
      writer_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      batch.swap(pending_);
    }
    // One write and one fsync for everything that queued meanwhile (group commit).
    std::string bytes;
    for (const auto& p : batch) bytes += p.record;
    bool ok = ::lseek(fd_, static_cast<off_t>(end_offset_), SEEK_SET) >= 0 &&
              WriteAll(fd_, bytes.data(), bytes.size()) && ::fdatasync(fd_) == 0;
    {
      std::lock_guard lock(mu_);
      if (ok) {
        end_offset_ += bytes.size();
      } else {
        depth_ -= batch.size();
        CSMS_LOG(kError, kLog) << "outbox: write to " << log_path_
                               << " failed: " << std::strerror(errno);
        // Cut whatever part of the batch may have landed; it was not acknowledged.
        if (::ftruncate(fd_, static_cast<off_t>(end_offset_)) != 0) {
          CSMS_LOG(kError, kLog) << "outbox: cannot truncate after failed write";
        }
      }
    }
    for (auto& p : batch) p.done(ok);
    replay_cv_.notify_one();
  }
}

bool Outbox::ReadRecord(uint64_t offset, ocpp::v1::TransactionEvent* event, uint64_t* next) {
  unsigned char header[8];
  if (::pread(fd_, header, sizeof header, static_cast<off_t>(offset)) != sizeof header) {
    return false;
  }
  uint32_t length = GetU32(header), crc = GetU32(header + 4);
  if (length > kMaxRecordBytes) return false;
  std::string payload(length, '\0');
  if (::pread(fd_, payload.data(), length, static_cast<off_t>(offset + 8)) !=
      static_cast<ssize_t>(length)) {
    return false;
  }
  if (Crc32(payload) != crc || !event->ParseFromString(payload)) return false;
  *next = offset + 8 + length;
  return true;
}

void Outbox::PersistOffset(uint64_t offset) {
  // Not fsync'd on purpose: losing it only means re-sending events billing already has.
  std::string tmp = offset_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << offset << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, offset_path_, ec);
}

void Outbox::ReplayLoop() {
  auto backoff = std::chrono::milliseconds(250);
  for (;;) {
    uint64_t offset;
    {
      std::unique_lock lock(mu_);
      replay_cv_.wait(lock, [&] { return stopping_ || replay_offset_ < end_offset_; });
      if (stopping_) return;
      offset = replay_offset_;
    }
    ocpp::v1::TransactionEvent event;
    uint64_t next = 0;
    if (!ReadRecord(offset, &event, &next)) {
      CSMS_LOG(kError, kLog) << "outbox: unreadable record at " << offset << "; skipping the rest";
      std::lock_guard lock(mu_);
      replay_offset_ = end_offset_;
      depth_ = pending_.size();
      continue;
    }
    billing::v1::RecordTransactionEventResponse response;
    grpc::Status status = deliver_(event, &response);
    if (!status.ok()) {
      CSMS_LOG(kDebug, kLog) << "outbox: billing still unavailable ("
                             << log::Sanitize(status.error_message(), 200) << "); " << depth()
                             << " event(s) waiting";
      std::unique_lock lock(mu_);
      replay_cv_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(250);
    delivered_(event, response);
    bool drained = false;
    {
      std::lock_guard lock(mu_);
      replay_offset_ = next;
      --depth_;
      // Everything written is delivered and nothing is being written: start the file afresh.
      if (replay_offset_ == end_offset_ && pending_.empty() && depth_ == 0) {
        // Offset first: a crash between the two then means a harmless replay, never a skip.
        PersistOffset(0);
        if (::ftruncate(fd_, 0) == 0) {
          end_offset_ = replay_offset_ = 0;
        } else {
          PersistOffset(replay_offset_);
        }
        drained = true;
      } else {
        PersistOffset(replay_offset_);
      }
    }
    if (drained) {
      CSMS_LOG(kInfo, kLog) << "outbox: drained; billing has every queued event";
      drained_cv_.notify_all();
    }
  }
}

bool Outbox::WaitUntilEmpty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return drained_cv_.wait_for(lock, timeout, [&] { return depth_ == 0; });
}

}  // namespace csms::gateway
