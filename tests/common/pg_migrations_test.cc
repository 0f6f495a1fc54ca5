// pg::MigrationsFromFiles: numbered .sql files become versioned migrations, or a clear error.

#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "csms/common/pg.h"

namespace csms::pg {
namespace {

std::string Describe(const std::vector<Migration>& migrations) {
  std::string out;
  for (const auto& m : migrations) {
    out += std::to_string(m.version) + "|" + m.name + "|" + m.sql + "\n";
  }
  return out;
}

struct Case {
  std::string label;
  std::vector<MigrationFile> files;
  // Either the migrations (Describe form) or a fragment of the error message.
  std::optional<std::string> migrations;
  std::string error = "";
};

const std::string kOk = "-- migration: d\nSELECT 1;\n";

std::vector<Case> Cases() {
  return {
      // ---- good ----
      {"nothing", {}, ""},
      {"one file",
       {{"0001_init.sql", "-- migration: init\nCREATE TABLE t (a int);\n"}},
       "1|init|CREATE TABLE t (a int);\n\n"},
      {"sorted by version whatever the order given",
       {{"0003_c.sql", "-- migration: c\nSELECT 3;"},
        {"0001_a.sql", "-- migration: a\nSELECT 1;"},
        {"0002_b.sql", "-- migration: b\nSELECT 2;"}},
       "1|a|SELECT 1;\n2|b|SELECT 2;\n3|c|SELECT 3;\n"},
      {"description keeps its punctuation; SQL stays byte for byte, blank first line included",
       {{"0001_ledger.sql",
         "-- migration: ledger, daily stats and clock-suspect rows\n\n-- x\n"
         "SELECT 1;\n"}},
       "1|ledger, daily stats and clock-suspect rows|\n-- x\nSELECT 1;\n\n"},
      {"CRLF first line",
       {{"0001_crlf.sql", "-- migration: crlf  \r\nSELECT 1;\r\n"}},
       "1|crlf|SELECT 1;\r\n\n"},
      {"digits and underscores in the slug; description need not match it",
       {{"0001_v2_table_3.sql", "-- migration: anything\nSELECT 1;"}},
       "1|anything|SELECT 1;\n"},
      {"ten and more",
       [] {
         std::vector<MigrationFile> files;
         static const std::vector<std::string> names = {
             "0001_a.sql", "0002_a.sql", "0003_a.sql", "0004_a.sql", "0005_a.sql", "0006_a.sql",
             "0007_a.sql", "0008_a.sql", "0009_a.sql", "0010_a.sql", "0011_a.sql"};
         for (const auto& name : names) files.push_back({name, "-- migration: m\nSELECT 1;"});
         return files;
       }(),
       "1|m|SELECT 1;\n2|m|SELECT 1;\n3|m|SELECT 1;\n4|m|SELECT 1;\n5|m|SELECT 1;\n"
       "6|m|SELECT 1;\n7|m|SELECT 1;\n8|m|SELECT 1;\n9|m|SELECT 1;\n10|m|SELECT 1;\n"
       "11|m|SELECT 1;\n"},

      // ---- gaps and duplicates ----
      {"gap",
       {{"0001_a.sql", kOk}, {"0003_c.sql", kOk}},
       std::nullopt,
       "migration file 0003_c.sql: version 2 is missing"},
      {"not starting at 1",
       {{"0002_b.sql", kOk}, {"0003_c.sql", kOk}},
       std::nullopt,
       "migration file 0002_b.sql: version 1 is missing"},
      {"duplicate version",
       {{"0001_a.sql", kOk}, {"0002_b.sql", kOk}, {"0002_other.sql", kOk}},
       std::nullopt,
       "migration file 0002_other.sql: version 2 is also that of 0002_b.sql"},
      {"version 0",
       {{"0000_zero.sql", kOk}, {"0001_a.sql", kOk}},
       std::nullopt,
       "migration file 0000_zero.sql: versions start at 0001"},

      // ---- bad names ----
      {"too few digits", {{"001_a.sql", kOk}}, std::nullopt, "001_a.sql: name must be NNNN_"},
      {"too many digits", {{"00001_a.sql", kOk}}, std::nullopt, "00001_a.sql: name must be"},
      {"no digits", {{"init.sql", kOk}}, std::nullopt, "init.sql: name must be"},
      {"letters for digits", {{"abcd_a.sql", kOk}}, std::nullopt, "abcd_a.sql: name must be"},
      {"dash instead of underscore",
       {{"0001-a.sql", kOk}},
       std::nullopt,
       "0001-a.sql: name must be"},
      {"empty slug", {{"0001_.sql", kOk}}, std::nullopt, "0001_.sql: name must be"},
      {"no slug", {{"0001.sql", kOk}}, std::nullopt, "0001.sql: name must be"},
      {"upper case slug", {{"0001_Init.sql", kOk}}, std::nullopt, "0001_Init.sql: name must be"},
      {"space in slug", {{"0001_in it.sql", kOk}}, std::nullopt, "0001_in it.sql: name must be"},
      {"other extension", {{"0001_a.SQL", kOk}}, std::nullopt, "0001_a.SQL: name must be"},
      {"backup file", {{"0001_a.sql.bak", kOk}}, std::nullopt, "0001_a.sql.bak: name must be"},
      {"no extension", {{"0001_a", kOk}}, std::nullopt, "0001_a: name must be"},
      {"one bad name among good ones",
       {{"0001_a.sql", kOk}, {"0002_b.sql", kOk}, {"0003 c.sql", kOk}},
       std::nullopt,
       "0003 c.sql: name must be"},

      // ---- bad contents ----
      {"no description line",
       {{"0001_a.sql", "CREATE TABLE t (a int);\n"}},
       std::nullopt,
       "0001_a.sql: first line must be \"-- migration: <description>\""},
      {"plain comment instead of the description line",
       {{"0001_a.sql", "-- a\nSELECT 1;"}},
       std::nullopt,
       "0001_a.sql: first line must be"},
      {"empty description",
       {{"0001_a.sql", "-- migration:\nSELECT 1;"}},
       std::nullopt,
       "0001_a.sql: empty description"},
      {"blank description",
       {{"0001_a.sql", "-- migration:    \nSELECT 1;"}},
       std::nullopt,
       "0001_a.sql: empty description"},
      {"no SQL",
       {{"0001_a.sql", "-- migration: a\n \n\t\n"}},
       std::nullopt,
       "0001_a.sql: no SQL after the first line"},
      {"only the description line",
       {{"0001_a.sql", "-- migration: a"}},
       std::nullopt,
       "0001_a.sql: no SQL after the first line"},
      {"empty file", {{"0001_a.sql", ""}}, std::nullopt, "0001_a.sql: first line must be"},
  };
}

TEST(MigrationsFromFilesTest, CaseTable) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.label);
    if (c.migrations) {
      ASSERT_TRUE(c.error.empty()) << "a case expects migrations or an error, not both";
      std::vector<Migration> migrations;
      EXPECT_NO_THROW(migrations = MigrationsFromFiles(c.files));
      EXPECT_EQ(Describe(migrations), *c.migrations);
    } else {
      ASSERT_FALSE(c.error.empty());
      try {
        MigrationsFromFiles(c.files);
        ADD_FAILURE() << "no error; expected one containing: " << c.error;
      } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(c.error), std::string::npos)
            << "message: " << e.what() << "\nexpected to contain: " << c.error;
      }
    }
  }
}

// The overload for tables generated by csms_embed_files takes any {name, contents} struct.
TEST(MigrationsFromFilesTest, TakesAnyFileTable) {
  struct EmbeddedFile {
    std::string_view name;
    std::string_view contents;
  };
  static constexpr EmbeddedFile kFiles[] = {{"0001_a.sql", "-- migration: first\nSELECT 1;"},
                                            {"0002_b.sql", "-- migration: second\nSELECT 2;"}};
  const auto migrations = MigrationsFromFiles(std::span<const EmbeddedFile>(kFiles));
  EXPECT_EQ(Describe(migrations), "1|first|SELECT 1;\n2|second|SELECT 2;\n");
}

}  // namespace
}  // namespace csms::pg
