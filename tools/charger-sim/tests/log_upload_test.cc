#include "csms/charger_sim/log_upload.h"

#include <gtest/gtest.h>

#include <string>

namespace csms::sim {
namespace {

struct UrlCase {
  const char* url;
  bool tls;
  const char* host;
  const char* port;
  const char* target;
  const char* host_header;
};

TEST(LogUploadTest, ParsesHttpUrls) {
  const UrlCase cases[] = {
      {"http://127.0.0.1:18080/log-uploads/abc", false, "127.0.0.1", "18080", "/log-uploads/abc",
       "127.0.0.1:18080"},
      {"http://csms.example", false, "csms.example", "80", "/", "csms.example"},
      {"http://csms.example/", false, "csms.example", "80", "/", "csms.example"},
      {"http://csms.example:80/x", false, "csms.example", "80", "/x", "csms.example"},
      {"https://csms.example/up?token=a%20b&x=1#frag", true, "csms.example", "443",
       "/up?token=a%20b&x=1", "csms.example"},
      {"https://csms.example:8443", true, "csms.example", "8443", "/", "csms.example:8443"},
      {"https://csms.example:80/", true, "csms.example", "80", "/", "csms.example:80"},
      {"http://csms.example?t=1", false, "csms.example", "80", "/?t=1", "csms.example"},
      {"http://[::1]:18080/log-uploads/t", false, "::1", "18080", "/log-uploads/t", "[::1]:18080"},
      {"https://[2001:db8::7]/a", true, "2001:db8::7", "443", "/a", "[2001:db8::7]"},
      {"http://h/a/b/", false, "h", "80", "/a/b/", "h"},
  };
  for (const UrlCase& c : cases) {
    SCOPED_TRACE(c.url);
    std::string error;
    auto url = ParseHttpUrl(c.url, &error);
    ASSERT_TRUE(url) << error;
    EXPECT_EQ(url->tls, c.tls);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->target, c.target);
    EXPECT_EQ(HttpHostHeader(*url), c.host_header);
  }
}

TEST(LogUploadTest, RefusesUnusableUrls) {
  const char* cases[] = {
      "ftp://csms.example/logs",
      "ws://csms.example/",
      "HTTP://csms.example/",
      "http://",
      "http:///path",
      "http://:8080/x",
      "http://user:pw@csms.example/x",
      "http://csms.example:/x",
      "http://csms.example:8o/x",
      "http://csms.example:0/x",
      "http://csms.example:65536/x",
      "http://csms.example:123456/x",
      "http://[::1/x",
      "http://[::1]x/",
      "http://[::1]:/",
      "http://csms.example/a b",
      "http://csms.example/a\r\nX-Injected: 1",
      "",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    std::string error;
    EXPECT_FALSE(ParseHttpUrl(text, &error));
    EXPECT_FALSE(error.empty());
  }
}

TEST(LogUploadTest, ParsesTheUploadMethod) {
  EXPECT_EQ(ParseLogUploadMethod("put"), LogUploadMethod::kPut);
  EXPECT_EQ(ParseLogUploadMethod("post"), LogUploadMethod::kPost);
  EXPECT_FALSE(ParseLogUploadMethod("PUT"));
  EXPECT_FALSE(ParseLogUploadMethod("patch"));
  EXPECT_STREQ(LogUploadMethodName(LogUploadMethod::kPost), "post");
  EXPECT_STREQ(LogUploadMethodName(LogUploadMethod::kPut), "put");
}

TEST(LogUploadTest, NamesTheFile) {
  EXPECT_EQ(LogFileName("emart_jeju_01", 7), "emart_jeju_01-7.log");
  EXPECT_EQ(LogFileName("cs", -3), "cs--3.log");
}

TEST(LogUploadTest, GeneratesExactlyTheAskedBytes) {
  EXPECT_EQ(GeneratedLog("cs1", "DiagnosticsLog", 0), "");
  const std::string first =
      "cs1 DiagnosticsLog line 000001: the quick brown fox jumps over the lazy dog\n";
  const std::string second =
      "cs1 DiagnosticsLog line 000002: the quick brown fox jumps over the lazy dog\n";
  EXPECT_EQ(GeneratedLog("cs1", "DiagnosticsLog", first.size()), first);
  EXPECT_EQ(GeneratedLog("cs1", "DiagnosticsLog", first.size() + 10), first + second.substr(0, 10));
  EXPECT_EQ(GeneratedLog("cs1", "SecurityLog", 5), "cs1 S");
  const std::string big = GeneratedLog("emart_jeju_01", "DiagnosticsLog", 65536);
  EXPECT_EQ(big.size(), 65536u);
  EXPECT_EQ(big, GeneratedLog("emart_jeju_01", "DiagnosticsLog", 65536)) << "deterministic";
}

TEST(LogUploadTest, BuildsAMultipartBodyOfOneFilePart) {
  const std::string body = MultipartFileBody("XyZ", "cs1-7.log", "line 1\nline 2\n");
  EXPECT_EQ(body,
            "--XyZ\r\n"
            "Content-Disposition: form-data; name=\"file\"; filename=\"cs1-7.log\"\r\n"
            "Content-Type: application/octet-stream\r\n"
            "\r\n"
            "line 1\nline 2\n\r\n"
            "--XyZ--\r\n");
  EXPECT_EQ(MultipartContentType("XyZ"), "multipart/form-data; boundary=XyZ");
  // Binary content goes as it is, NUL bytes and CRLFs included.
  const std::string binary("a\0\r\n--b", 7);
  EXPECT_EQ(MultipartFileBody("b1", "f", binary),
            "--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" +
                binary + "\r\n--b1--\r\n");
  // Quotes and line breaks in the filename cannot break out of the header.
  EXPECT_NE(MultipartFileBody("b", "a\"b\r\nc", "").find("filename=\"a%22b%0D%0Ac\"\r\n"),
            std::string::npos);
  EXPECT_EQ(MultipartFileBody("b", "f", ""),
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n");
}

TEST(LogUploadTest, PicksABoundaryNotInTheContent) {
  const std::string boundary = MultipartBoundary("", 1);
  EXPECT_EQ(boundary.rfind("csms-sim-", 0), 0u);
  EXPECT_EQ(boundary.size(), 9u + 24u);
  EXPECT_LE(boundary.size(), 70u);  // RFC 2046
  EXPECT_EQ(MultipartBoundary("", 1), boundary) << "the same seed, the same boundary";
  // Content that holds the first choice gets another.
  const std::string other = MultipartBoundary("x" + boundary + "y", 1);
  EXPECT_NE(other, boundary);
  EXPECT_EQ(other.rfind("csms-sim-", 0), 0u);
}

}  // namespace
}  // namespace csms::sim
