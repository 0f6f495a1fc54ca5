// Chargers POST their logs as multipart/form-data: the boundary from the Content-Type, and the
// file out of the body, whatever line endings and extra parts the uploader uses.
#include "csms/gateway/multipart.h"

#include <gtest/gtest.h>

namespace csms::gateway {
namespace {

TEST(MultipartBoundary, FromContentType) {
  struct Case {
    const char* content_type;
    std::optional<std::string> boundary;
  };
  const Case cases[] = {
      {"multipart/form-data; boundary=abc123", "abc123"},
      {"Multipart/Form-Data;boundary=\"quoted; value\"", "quoted; value"},
      {"multipart/form-data; charset=utf-8; boundary=----x", "----x"},
      {"multipart/form-data", std::nullopt},
      {"multipart/form-data; boundary=", std::nullopt},
      {"application/octet-stream", std::nullopt},
      {"multipart/mixed; boundary=abc", std::nullopt},
  };
  for (const auto& c : cases)
    EXPECT_EQ(MultipartBoundary(c.content_type), c.boundary) << c.content_type;
}

struct ExtractCase {
  const char* name;
  std::string body;
  // Expected: nullopt = an error.
  std::optional<std::string> data;
  std::string filename = "";
  std::string content_type = "";
};

TEST(ExtractMultipartFile, CaseTable) {
  const std::string b = "XyZ";
  const ExtractCase cases[] = {
      {"one file, CRLF",
       "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.log\"\r\n"
       "Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n",
       "line1\r\nline2", "a.log", "text/plain"},
      {"LF only",
       "--XyZ\nContent-Disposition: form-data; name=\"file\"; filename=\"b.log\"\n\nabc\n--XyZ--\n",
       "abc", "b.log"},
      {"a preamble and an epilogue",
       "ignore me\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"c\"\r\n\r\n"
       "data\r\n--XyZ--\r\nepilogue",
       "data", "c"},
      {"the file is the second part",
       "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
       "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.tgz\"\r\n"
       "Content-Type: application/gzip\r\n\r\n\x1f\x8b\r\n--XyZ--\r\n",
       "\x1f\x8b", "d.tgz", "application/gzip"},
      {"no file name: the first part",
       "--XyZ\r\nContent-Disposition: form-data; name=\"log\"\r\n\r\nfirst\r\n"
       "--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nsecond\r\n--XyZ--\r\n",
       "first"},
      {"no closing boundary",
       "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e\"\r\n\r\ntail\r\n",
       "tail", "e"},
      {"data that looks like a boundary but is not one at a line start",
       "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\na--XyZ b\r\n"
       "--XyZ--\r\n",
       "a--XyZ b", "f"},
      {"an empty file",
       "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"g\"\r\n\r\n\r\n--XyZ--",
       "", "g"},
      {"no boundary at all", "just bytes", std::nullopt},
      {"cut off in the headers", "--XyZ\r\nContent-Disposition: form-data; name=\"file\"",
       std::nullopt},
      {"only the closing boundary", "--XyZ--\r\n", std::nullopt},
  };
  for (const auto& c : cases) {
    std::string error;
    auto file = ExtractMultipartFile(c.body, b, &error);
    if (!c.data) {
      EXPECT_FALSE(file) << c.name;
      EXPECT_FALSE(error.empty()) << c.name;
      continue;
    }
    ASSERT_TRUE(file) << c.name << ": " << error;
    EXPECT_EQ(file->data, *c.data) << c.name;
    EXPECT_EQ(file->filename, c.filename) << c.name;
    EXPECT_EQ(file->content_type, c.content_type) << c.name;
  }
}

TEST(ExtractMultipartFile, BinaryDataWithEveryByteValue) {
  std::string data;
  for (int i = 0; i < 256 * 4; ++i) data.push_back(static_cast<char>(i % 256));
  const std::string body =
      "--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\n" +
      data + "\r\n--B0undary--\r\n";
  std::string error;
  auto file = ExtractMultipartFile(body, "B0undary", &error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->data, data);
}

}  // namespace
}  // namespace csms::gateway
