#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace csms::gateway {

// One file out of a multipart/form-data body (RFC 7578), as chargers POST their logs.
struct MultipartFile {
  std::string filename;      // "" when the part has none
  std::string content_type;  // the part's, "" when it gives none
  std::string data;
};

// The boundary of a `multipart/form-data; boundary=...` Content-Type (quoted or not); nullopt
// for any other type or a missing boundary.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// The first part that carries a file name, else the first part. nullopt with `error` when the
// body has no part or a part is cut off. Lines may end in CRLF or LF alone; a preamble before
// the first boundary and an epilogue after the last are ignored; a missing closing boundary is
// tolerated after a complete part (some uploaders stop there).
std::optional<MultipartFile> ExtractMultipartFile(std::string_view body, std::string_view boundary,
                                                  std::string* error);

}  // namespace csms::gateway
