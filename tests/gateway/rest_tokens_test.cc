// Id tokens' REST side (issue 14), without sockets: the PUT body, the import's format, and the
// streamed import's cutting of lines into batches (bounded, numbered, overlong lines skipped).
#include "csms/gateway/rest_tokens.h"

#include <gtest/gtest.h>

namespace csms::gateway {
namespace {

namespace v1 = control::v1;

TEST(TokenBody, CaseTable) {
  struct Case {
    const char* body;
    int status;  // 0: parses
    const char* message_part;
  };
  const Case cases[] = {
      {"", 0, ""},
      {"{}", 0, ""},
      {R"({"status":"Blocked","expires_at":"2027-01-01T00:00:00Z","group":{"id_token":"G",)"
       R"("type":"Central"},"account_id":"a","max_concurrent":2,"stations":["S1","S2"],)"
       R"("language":"en","personal_message":"hi"})",
       0, ""},
      {R"({"status":null,"group":null,"stations":null,"expires_at":null})", 0, ""},
      {R"({"colour":"red"})", 400, "unknown field 'colour'"},
      {R"({"group":{"id_token":"G"}})", 400, "both"},
      {R"({"group":{"id_token":"G","type":"Central","x":1}})", 400, "unknown field 'x'"},
      {R"({"max_concurrent":0})", 400, "max_concurrent"},
      {R"({"max_concurrent":1.5})", 400, "max_concurrent"},
      {R"({"stations":"S1"})", 400, "stations"},
      {R"({"expires_at":"tomorrow"})", 400, "RFC 3339"},
      {R"({"status":""})", 400, "empty"},
      {R"({"account_id":7})", 400, "string"},
      {"[1]", 400, "JSON object"},
      {"{", 400, "JSON object"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseTokenBody(c.body);
    if (c.status == 0) {
      EXPECT_TRUE(std::holds_alternative<v1::PutTokenRequest>(parsed)) << c.body;
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<RestError>(parsed)) << c.body;
    const auto& e = std::get<RestError>(parsed);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_NE(e.message.find(c.message_part), std::string::npos) << c.body << ": " << e.message;
  }
  auto full = std::get<v1::PutTokenRequest>(ParseTokenBody(
      R"({"status":"Blocked","group":{"id_token":"G","type":"Central"},"max_concurrent":2,)"
      R"("stations":[]})"));
  EXPECT_EQ(full.status(), "Blocked");
  EXPECT_EQ(full.group().type(), "Central");
  EXPECT_EQ(full.max_concurrent(), 2);
  EXPECT_TRUE(full.has_stations());  // [] is "no station", not "every station"
  EXPECT_FALSE(std::get<v1::PutTokenRequest>(ParseTokenBody("{}")).has_max_concurrent());
}

TEST(TokenImportFormat, CaseTable) {
  struct Case {
    const char* content_type;
    const char* query;
    const char* format;  // "" : refused
    int status;
  };
  const Case cases[] = {
      {"text/csv", "", "csv", 0},
      {"text/csv; charset=utf-8", "", "csv", 0},
      {"TEXT/CSV", "", "csv", 0},
      {"application/x-ndjson", "", "jsonl", 0},
      {"application/jsonl", "", "jsonl", 0},
      {"application/octet-stream", "format=csv", "csv", 0},
      {"text/csv", "format=jsonl", "jsonl", 0},
      {"application/json", "", "", 415},
      {"", "", "", 415},
      {"text/csv", "format=xml", "", 400},
  };
  for (const auto& c : cases) {
    auto f = TokenImportFormat(c.content_type, c.query);
    if (c.status == 0) {
      ASSERT_TRUE(std::holds_alternative<std::string>(f)) << c.content_type;
      EXPECT_EQ(std::get<std::string>(f), c.format);
    } else {
      ASSERT_TRUE(std::holds_alternative<RestError>(f)) << c.content_type;
      EXPECT_EQ(std::get<RestError>(f).status, c.status);
    }
  }
}

// Feeds `pieces` as a body arriving in those pieces; every batch is "stored" whole (one stored
// per line) and returned.
std::vector<v1::ImportTokensRequest> Feed(TokenImport& import,
                                          const std::vector<std::string>& pieces) {
  std::vector<v1::ImportTokensRequest> batches;
  std::string body;
  for (size_t i = 0; i <= pieces.size(); ++i) {
    const bool end = i == pieces.size();
    if (!end) body += pieces[i];
    while (import.Cut(body, end)) {
      batches.push_back(import.TakeBatch());
      v1::ImportTokensResponse stored;
      stored.set_stored(batches.back().lines_size());
      import.Stored(stored);
    }
    EXPECT_LE(body.size(), TokenImport::kMaxLineBytes + 1) << "the body is not held";
  }
  return batches;
}

TEST(TokenImport, CutsLinesAcrossPiecesWithTheHeaderAsLineOne) {
  TokenImport import("csv");
  auto batches = Feed(import, {"id_token,ty", "pe\r\nA,ISO14443\r\nB,IS", "O14443\nC,Local"});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].format(), "csv");
  EXPECT_EQ(batches[0].csv_header(), "id_token,type");
  EXPECT_EQ(batches[0].first_line(), 2);
  ASSERT_EQ(batches[0].lines_size(), 3);
  EXPECT_EQ(batches[0].lines(0), "A,ISO14443");
  EXPECT_EQ(batches[0].lines(1), "B,ISO14443");
  EXPECT_EQ(batches[0].lines(2), "C,Local");  // the last line needs no newline
  EXPECT_EQ(import.Result()["stored"], 3);
  EXPECT_FALSE(import.header_missing());
}

TEST(TokenImport, BatchesAtAThousandLinesAndOneMebibyte) {
  TokenImport import("jsonl");
  std::string body;
  for (int i = 0; i < 2500; ++i) body += R"({"id_token":"T)" + std::to_string(i) + "\"}\n";
  auto batches = Feed(import, {body});
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].first_line(), 1);
  EXPECT_EQ(batches[0].lines_size(), 1000);
  EXPECT_EQ(batches[1].first_line(), 1001);
  EXPECT_EQ(batches[2].first_line(), 2001);
  EXPECT_EQ(batches[2].lines_size(), 500);
  EXPECT_TRUE(batches[0].csv_header().empty());

  TokenImport big("jsonl");
  const std::string line(4000, 'x');
  std::vector<std::string> pieces(600, line + "\n");
  auto by_bytes = Feed(big, pieces);
  ASSERT_EQ(by_bytes.size(), 3u);
  EXPECT_EQ(by_bytes[0].lines_size(), 263);  // the first line past 1 MiB closes the batch
}

TEST(TokenImport, OverlongLinesAreErrorsAndNeverHeld) {
  TokenImport import("csv");
  const std::string huge(10000, 'z');
  auto batches = Feed(import, {"id_token,type\nA,Local\n", huge.substr(0, 5000), huge.substr(5000),
                               "\nB,Local\n" + std::string(4097, 'y') + "\nC,Local"});
  // Lines 2 (A) | 3 too long | 4 (B) | 5 too long | 6 (C): three runs of consecutive lines.
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].first_line(), 2);
  EXPECT_EQ(batches[1].first_line(), 4);
  EXPECT_EQ(batches[1].lines(0), "B,Local");
  EXPECT_EQ(batches[2].first_line(), 6);
  auto result = import.Result();
  EXPECT_EQ(result["stored"], 3);
  EXPECT_EQ(result["failed"], 2);
  ASSERT_EQ(result["errors"].size(), 2u);
  EXPECT_EQ(result["errors"][0]["line"], 3);
  EXPECT_EQ(result["errors"][1]["line"], 5);
  EXPECT_NE(result["errors"][0]["message"].get<std::string>().find("4096"), std::string::npos);
}

TEST(TokenImport, ErrorsAreSortedAndCappedAtAThousand) {
  TokenImport import("jsonl");
  v1::ImportTokensResponse a, b;
  for (int i = 0; i < 700; ++i) {
    auto* e = b.add_errors();
    e->set_line(2000 + i);
    e->set_message("bad");
  }
  for (int i = 0; i < 700; ++i) {
    auto* e = a.add_errors();
    e->set_line(10 + i);
    e->set_message("bad");
  }
  import.Stored(b);
  import.Stored(a);
  auto result = import.Result();
  EXPECT_EQ(result["failed"], 1400);
  EXPECT_EQ(result["errors"].size(), 1000u);
  EXPECT_TRUE(result["errors_truncated"].get<bool>());
  EXPECT_EQ(result["errors"][0]["line"], 10);
}

TEST(TokenImport, AHeaderOnlyCsvIsCheckedOnceAndAnEmptyOneIsMissingItsHeader) {
  TokenImport header_only("csv");
  auto batches = Feed(header_only, {"id_token,type\n"});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].lines_size(), 0);
  EXPECT_EQ(batches[0].csv_header(), "id_token,type");

  TokenImport empty("csv");
  EXPECT_TRUE(Feed(empty, {}).empty());
  EXPECT_TRUE(empty.header_missing());

  TokenImport empty_jsonl("jsonl");
  EXPECT_TRUE(Feed(empty_jsonl, {""}).empty());
  EXPECT_EQ(empty_jsonl.Result()["stored"], 0);
}

}  // namespace
}  // namespace csms::gateway
