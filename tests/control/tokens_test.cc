// Id tokens (issue 14): validation and import-line parsing as case tables (pure), and the store
// against a real PostgreSQL (case-insensitive keys, change_seq on every write, deletion
// tombstones, paging with filters, the audit log, set-based batch imports).
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "csms/common/pg_sql.h"
#include "csms/control/migrations.h"
#include "csms/control/token_rules.h"
#include "csms/control/token_store.h"
#include "pg_test_db.h"

namespace csms::control {
namespace {

using csms::testing::TestDatabase;

TokenRecord Token(std::string type, std::string id) {
  TokenRecord t;
  t.type = std::move(type);
  t.id_token = std::move(id);
  return t;
}

TEST(TokenRules, ValidationCaseTable) {
  struct Case {
    const char* name;
    std::function<void(TokenRecord&)> change;
    const char* error_part;  // "" : valid
  };
  const Case cases[] = {
      {"defaults", [](TokenRecord&) {}, ""},
      {"36 characters", [](TokenRecord& t) { t.id_token = std::string(36, 'A'); }, ""},
      {"37 characters", [](TokenRecord& t) { t.id_token = std::string(37, 'A'); }, "over 36"},
      {"36 multibyte characters",
       [](TokenRecord& t) {
         t.id_token.clear();
         for (int i = 0; i < 36; ++i) t.id_token += "\xC3\xA9";
       },
       ""},
      {"invalid UTF-8", [](TokenRecord& t) { t.id_token = "\xC3"; }, "UTF-8"},
      {"empty id", [](TokenRecord& t) { t.id_token = ""; }, "empty"},
      {"empty NoAuthorization",
       [](TokenRecord& t) {
         t.type = "NoAuthorization";
         t.id_token = "";
       },
       ""},
      {"unknown type", [](TokenRecord& t) { t.type = "RFID"; }, "IdTokenEnumType"},
      {"type is case-sensitive", [](TokenRecord& t) { t.type = "iso14443"; }, "IdTokenEnumType"},
      {"every type",
       [](TokenRecord& t) {
         for (const char* type : {"Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local",
                                  "MacAddress", "NoAuthorization"}) {
           EXPECT_TRUE(IsTokenType(type)) << type;
         }
         t.type = "MacAddress";
       },
       ""},
      {"blocked", [](TokenRecord& t) { t.status = "Blocked"; }, ""},
      {"unknown status", [](TokenRecord& t) { t.status = "Unknown"; }, "status"},
      {"group", [](TokenRecord& t) { t.group_type = "Central", t.group_id_token = "G1"; }, ""},
      {"group without id", [](TokenRecord& t) { t.group_type = "Central"; }, "both"},
      {"group without type", [](TokenRecord& t) { t.group_id_token = "G1"; }, "both"},
      {"group of unknown type", [](TokenRecord& t) { t.group_type = "X", t.group_id_token = "G1"; },
       "group type"},
      {"group id over 36",
       [](TokenRecord& t) { t.group_type = "Central", t.group_id_token = std::string(37, 'g'); },
       "over 36"},
      {"max_concurrent 0", [](TokenRecord& t) { t.max_concurrent = 0; }, "max_concurrent"},
      {"max_concurrent 5", [](TokenRecord& t) { t.max_concurrent = 5; }, ""},
      {"account 64", [](TokenRecord& t) { t.account_id = std::string(64, 'a'); }, ""},
      {"account 65", [](TokenRecord& t) { t.account_id = std::string(65, 'a'); }, "account_id"},
      {"empty account", [](TokenRecord& t) { t.account_id = ""; }, "account_id is empty"},
      {"language 9", [](TokenRecord& t) { t.language = "de-DE-xyz"; }, "language"},
      {"message 512", [](TokenRecord& t) { t.personal_message = std::string(512, 'm'); }, ""},
      {"message 513", [](TokenRecord& t) { t.personal_message = std::string(513, 'm'); },
       "personal_message"},
      {"stations",
       [](TokenRecord& t) {
         t.stations = std::vector<std::string>{"S1", "S2"};
       },
       ""},
      {"no stations at all", [](TokenRecord& t) { t.stations = std::vector<std::string>{}; }, ""},
      {"empty station id",
       [](TokenRecord& t) {
         t.stations = std::vector<std::string>{"S1", ""};
       },
       "empty station"},
  };
  for (const auto& c : cases) {
    TokenRecord t = Token("ISO14443", "04A2B3C4D5");
    c.change(t);
    const std::string error = ValidateToken(t);
    if (std::string(c.error_part).empty()) {
      EXPECT_EQ(error, "") << c.name;
    } else {
      EXPECT_NE(error.find(c.error_part), std::string::npos) << c.name << ": " << error;
    }
  }
}

TEST(TokenRules, CsvSplitCaseTable) {
  struct Case {
    const char* line;
    std::optional<std::vector<std::string>> fields;
  };
  const Case cases[] = {
      {"a,b,c", std::vector<std::string>{"a", "b", "c"}},
      {"a,,c\r", std::vector<std::string>{"a", "", "c"}},
      {"", std::vector<std::string>{""}},
      {"\"a,b\",c", std::vector<std::string>{"a,b", "c"}},
      {"\"say \"\"hi\"\"\",x", std::vector<std::string>{"say \"hi\"", "x"}},
      {"\"open,x", std::nullopt},
      {"a,", std::vector<std::string>{"a", ""}},
  };
  for (const auto& c : cases) EXPECT_EQ(SplitCsvLine(c.line), c.fields) << c.line;
}

TEST(TokenRules, CsvHeader) {
  EXPECT_EQ(ParseCsvHeader("id_token,type").names.size(), 2u);
  EXPECT_EQ(ParseCsvHeader("\xEF\xBB\xBFtype, id_token ,stations").names,
            (std::vector<std::string>{"type", "id_token", "stations"}));
  EXPECT_THROW(ParseCsvHeader("id_token"), std::invalid_argument);
  EXPECT_THROW(ParseCsvHeader("id_token,type,colour"), std::invalid_argument);
  EXPECT_THROW(ParseCsvHeader("id_token,type,type"), std::invalid_argument);
}

TEST(TokenRules, CsvLineCaseTable) {
  const CsvColumns all = ParseCsvHeader(
      "id_token,type,status,expires_at,group_id_token,group_type,account_id,max_concurrent,"
      "stations,language,personal_message");
  struct Case {
    const char* line;
    const char* error_part;  // "" : good
  };
  const Case cases[] = {
      {"AB12,ISO14443,,,,,,,,,", ""},
      {"AB12,ISO14443,Blocked,2027-01-01T00:00:00Z,G1,Central,acct-1,2,S1;S2,en,\"Hi, you\"", ""},
      {"AB12,ISO14443", "2 fields where the header has 11"},
      {",ISO14443,,,,,,,,,", "empty"},
      {"AB12,,,,,,,,,,", "type is missing"},
      {"AB12,RFID,,,,,,,,,", "IdTokenEnumType"},
      {"AB12,ISO14443,Gone,,,,,,,,", "status"},
      {"AB12,ISO14443,,tomorrow,,,,,,,", "expires_at"},
      {"AB12,ISO14443,,,G1,,,,,,", "both"},
      {"AB12,ISO14443,,,,,,two,,,", "max_concurrent"},
      {"AB12,ISO14443,,,,,,0,,,", "max_concurrent"},
      {"AB12,ISO14443,,,,,,,S1;;S2,,", "empty station"},
      {"0123456789012345678901234567890123456,ISO14443,,,,,,,,,", "over 36"},
      {"\"AB12,ISO14443,,,,,,,,,", "unterminated"},
  };
  for (const auto& c : cases) {
    ParsedLine p = ParseCsvTokenLine(all, c.line);
    if (std::string(c.error_part).empty()) {
      EXPECT_TRUE(p.token.has_value()) << c.line << ": " << p.error;
    } else {
      EXPECT_FALSE(p.token.has_value()) << c.line;
      EXPECT_NE(p.error.find(c.error_part), std::string::npos) << c.line << ": " << p.error;
    }
  }
  ParsedLine full = ParseCsvTokenLine(
      all, "AB12,ISO14443,Blocked,2027-01-01T00:00:00Z,G1,Central,acct-1,2,S1;S2,en,\"Hi, you\"");
  ASSERT_TRUE(full.token);
  EXPECT_EQ(full.token->status, "Blocked");
  EXPECT_EQ(full.token->group_type, "Central");
  EXPECT_EQ(full.token->group_id_token, "G1");
  EXPECT_EQ(full.token->account_id, "acct-1");
  EXPECT_EQ(full.token->max_concurrent, 2);
  EXPECT_EQ(full.token->stations, (std::vector<std::string>{"S1", "S2"}));
  EXPECT_EQ(full.token->personal_message, "Hi, you");
  EXPECT_TRUE(full.token->expires_at.has_value());
  // Only the required columns: everything else takes its default.
  ParsedLine two = ParseCsvTokenLine(ParseCsvHeader("type,id_token"), "eMAID,DE-ABC-123");
  ASSERT_TRUE(two.token);
  EXPECT_EQ(two.token->id_token, "DE-ABC-123");
  EXPECT_EQ(two.token->status, "Accepted");
  EXPECT_FALSE(two.token->stations.has_value());
}

TEST(TokenRules, JsonLineCaseTable) {
  struct Case {
    const char* line;
    const char* error_part;  // "" : good
  };
  const Case cases[] = {
      {R"({"id_token":"AB12","type":"ISO14443"})", ""},
      {R"({"id_token":"AB12","type":"ISO14443","status":"Blocked","expires_at":null,)"
       R"("group":{"id_token":"G","type":"Central"},"account_id":"a","max_concurrent":3,)"
       R"("stations":["S1"],"language":"en","personal_message":"hi"})",
       ""},
      {R"({"id_token":"AB12","type":"ISO14443","group":null,"stations":null})", ""},
      {R"({"id_token":"AB12"})", "type is missing"},
      {R"({"type":"ISO14443"})", "id_token is missing"},
      {R"({"id_token":"AB12","type":"ISO14443","colour":"red"})", "unknown field 'colour'"},
      {R"({"id_token":"AB12","type":"ISO14443","group":{"id_token":"G"}})", "both"},
      {R"({"id_token":"AB12","type":"ISO14443","max_concurrent":"2"})", "integer"},
      {R"({"id_token":"AB12","type":"ISO14443","stations":[1]})", "station ids"},
      {R"({"id_token":"AB12","type":"ISO14443","expires_at":"soon"})", "RFC 3339"},
      {R"({"id_token":12,"type":"ISO14443"})", "must be a string"},
      {R"(["AB12"])", "not a JSON object"},
      {R"({"id_token":)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    ParsedLine p = ParseJsonTokenLine(c.line);
    if (std::string(c.error_part).empty()) {
      EXPECT_TRUE(p.token.has_value()) << c.line << ": " << p.error;
    } else {
      EXPECT_FALSE(p.token.has_value()) << c.line;
      EXPECT_NE(p.error.find(c.error_part), std::string::npos) << c.line << ": " << p.error;
    }
  }
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CSMS_REQUIRE_DATABASE(db_);
    {
      pqxx::connection conn(db_.url());
      pg::ApplyMigrations(conn, "control", ControlMigrations());
    }
    pool_ = std::make_unique<pg::Pool>(db_.url(), 2);
    store_ = std::make_unique<TokenStore>(*pool_);
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  TestDatabase db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<TokenStore> store_;
};

TEST_F(TokenStoreTest, PutFindsCaseInsensitivelyAndReplaces) {
  TokenRecord t = Token("ISO14443", "04a2B3c4");
  t.group_type = "Central";
  t.group_id_token = "FLEET-1";
  t.account_id = "acct-7";
  t.stations = std::vector<std::string>{"S1", "S 2"};
  t.personal_message = "Hallo, Jürgen";
  auto first = store_->Put(t, "ops-key");
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.token.id_token(), "04a2B3c4");
  EXPECT_EQ(first.token.group().id_token(), "FLEET-1");
  ASSERT_TRUE(first.token.has_stations());
  EXPECT_EQ(first.token.stations().station_ids_size(), 2);
  EXPECT_EQ(first.token.stations().station_ids(1), "S 2");

  auto found = store_->Find("ISO14443", "04A2B3C4");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id_token(), "04a2B3c4");  // as given
  EXPECT_EQ(found->personal_message(), "Hallo, Jürgen");
  EXPECT_FALSE(store_->Find("ISO15693", "04A2B3C4"));  // the type is part of the key

  TokenRecord replaced = Token("ISO14443", "04A2B3C4");
  replaced.status = "Blocked";
  auto second = store_->Put(replaced, "ops-key");
  EXPECT_FALSE(second.created);
  EXPECT_EQ(second.token.id_token(), "04A2B3C4");
  EXPECT_EQ(second.token.status(), "Blocked");
  EXPECT_FALSE(second.token.has_group());  // a PUT replaces the whole token
  EXPECT_FALSE(second.token.has_stations());
  EXPECT_GT(second.token.change_seq(), first.token.change_seq());
  EXPECT_EQ(Count("SELECT count(*) FROM tokens"), 1);
}

TEST_F(TokenStoreTest, EveryWriteBumpsTheChangeSequenceAndDeletionsLeaveTombstones) {
  EXPECT_EQ(store_->LastChangeSeq(), 0);
  auto a = store_->Put(Token("Central", "A"), "k");
  auto b = store_->Put(Token("Central", "B"), "k");
  EXPECT_LT(a.token.change_seq(), b.token.change_seq());
  auto deleted = store_->Delete("Central", "a", "k");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->id_token(), "A");
  EXPECT_FALSE(store_->Delete("Central", "a", "k"));
  EXPECT_FALSE(store_->Find("Central", "A"));
  EXPECT_EQ(Count("SELECT count(*) FROM token_deletions WHERE type = 'Central' AND id_key = 'a'"
                  " AND seq > " +
                  std::to_string(b.token.change_seq())),
            1);
  TokenStore::ImportLine line{2, Token("Central", "B")};
  store_->Import({line}, "k", "csv", 0);
  EXPECT_EQ(store_->Find("Central", "b")->change_seq(), store_->LastChangeSeq());
  EXPECT_GT(store_->LastChangeSeq(), b.token.change_seq() + 1);
}

TEST_F(TokenStoreTest, ListsPageByKeyWithFilters) {
  for (int i = 0; i < 7; ++i) {
    TokenRecord t = Token("ISO14443", "T" + std::to_string(i));
    t.account_id = i % 2 == 0 ? "even" : "odd";
    if (i == 4) t.status = "Blocked";
    store_->Put(t, "k");
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->List("even", "", 2, cursor);
    for (const auto& t : page.tokens) seen.push_back(t.id_token());
    cursor = page.next_cursor;
    ++pages;
  } while (!cursor.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"T0", "T2", "T4", "T6"}));
  EXPECT_EQ(pages, 2);
  auto blocked = store_->List("even", "Blocked", 50, "");
  ASSERT_EQ(blocked.tokens.size(), 1u);
  EXPECT_EQ(blocked.tokens[0].id_token(), "T4");
  EXPECT_EQ(store_->List("", "", 50, "").tokens.size(), 7u);
  EXPECT_THROW(store_->List("", "", 2, "nonsense"), std::invalid_argument);
}

TEST_F(TokenStoreTest, AuditsEveryChange) {
  store_->Put(Token("KeyCode", "1234"), "alice");
  TokenRecord blocked = Token("KeyCode", "1234");
  blocked.status = "Blocked";
  store_->Put(blocked, "bob");
  store_->Delete("KeyCode", "1234", "carol");
  store_->Put(Token("KeyCode", "other"), "alice");
  auto page = store_->ListAudit("KeyCode", "1234", 2, "");
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_EQ(page.entries[0].action(), "deleted");
  EXPECT_EQ(page.entries[0].actor(), "carol");
  EXPECT_TRUE(page.entries[0].after_json().empty());
  EXPECT_EQ(nlohmann::json::parse(page.entries[0].before_json())["status"], "Blocked");
  EXPECT_EQ(page.entries[1].action(), "replaced");
  EXPECT_EQ(nlohmann::json::parse(page.entries[1].before_json())["status"], "Accepted");
  EXPECT_EQ(nlohmann::json::parse(page.entries[1].after_json())["status"], "Blocked");
  ASSERT_FALSE(page.next_cursor.empty());
  auto rest = store_->ListAudit("KeyCode", "1234", 2, page.next_cursor);
  ASSERT_EQ(rest.entries.size(), 1u);
  EXPECT_EQ(rest.entries[0].action(), "created");
  EXPECT_TRUE(rest.entries[0].before_json().empty());
  EXPECT_EQ(store_->ListAudit("", "", 50, "").entries.size(), 4u);
}

TEST_F(TokenStoreTest, ImportUpsertsABatchWithOneAuditRow) {
  store_->Put(Token("ISO14443", "EXISTING"), "k");
  std::vector<TokenStore::ImportLine> lines;
  for (int i = 0; i < 1000; ++i) {
    TokenRecord t = Token("ISO14443", "IMP" + std::to_string(i));
    if (i % 3 == 0) t.stations = std::vector<std::string>{"S1", "with \"quote\""};
    if (i % 5 == 0) t.expires_at = pg::FromEpochSeconds(1800000000);
    lines.push_back({i + 2, t});
  }
  TokenRecord again = Token("ISO14443", "existing");
  again.status = "Expired";
  lines.push_back({1002, again});
  TokenRecord dup = Token("ISO14443", "imp7");  // the later line wins
  dup.status = "Invalid";
  lines.push_back({1003, dup});
  EXPECT_EQ(store_->Import(lines, "importer", "csv", 3), 1002);
  EXPECT_EQ(Count("SELECT count(*) FROM tokens"), 1001);
  EXPECT_EQ(store_->Find("ISO14443", "Existing")->status(), "Expired");
  auto seven = store_->Find("ISO14443", "IMP7");
  EXPECT_EQ(seven->status(), "Invalid");
  EXPECT_EQ(seven->id_token(), "imp7");
  auto three = store_->Find("ISO14443", "IMP3");
  ASSERT_TRUE(three->has_stations());
  EXPECT_EQ(three->stations().station_ids(1), "with \"quote\"");
  EXPECT_TRUE(store_->Find("ISO14443", "IMP5")->has_expires_at());
  auto audit = store_->ListAudit("", "", 1, "");
  ASSERT_EQ(audit.entries.size(), 1u);
  EXPECT_EQ(audit.entries[0].action(), "imported");
  auto summary = nlohmann::json::parse(audit.entries[0].after_json());
  EXPECT_EQ(summary["count"], 1002);
  EXPECT_EQ(summary["failed"], 3);
  EXPECT_EQ(summary["first_line"], 2);
  EXPECT_EQ(summary["last_line"], 1003);
  EXPECT_EQ(Count("SELECT count(*) FROM token_audit"), 2);
}

}  // namespace
}  // namespace csms::control
