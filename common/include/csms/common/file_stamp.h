#pragma once

#include <cstdint>
#include <string>

namespace csms {

// What tells a changed file from an unchanged one when it is polled: the inode (a file replaced
// by rename, as editors and Kubernetes Secret updates do it), its size and its modification and
// change times in nanoseconds. Timestamps alone can miss two writes within one clock tick of
// the file system. All zero when the file cannot be read.
struct FileStamp {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t modified_ns = 0, changed_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path);

}  // namespace csms
