#pragma once

// Helpers for migration tests: describe a database's schema as text, so two databases that should
// have the same schema (say, one migrated from empty and one upgraded from an old release) can be
// compared with EXPECT_EQ, which prints the lines that differ.

#include <algorithm>
#include <iterator>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace csms::testing {

// One line per schema object of the public schema: relations (tables, indexes, sequences, views),
// columns (type, nullability, default, position), constraints, index definitions, sequence
// parameters and ownership, comments, triggers, functions and enum labels. Sorted; never empty
// for a migrated database (schema_migrations is there).
inline std::vector<std::string> SchemaSnapshot(const std::string& url) {
  static const char* const kQueries[] = {
      // Relations of every kind.
      "SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text"
      " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace",
      // Columns, in their physical order.
      "SELECT 'column ' || c.relname || '.' || a.attname || ' #' || a.attnum || ' '"
      " || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null'"
      " ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')"
      " || CASE WHEN a.attidentity <> '' THEN ' identity=' || a.attidentity::text ELSE '' END"
      " || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END"
      " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
      " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
      " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
      " AND a.attnum > 0 AND NOT a.attisdropped",
      // Primary keys, unique, check and foreign key constraints.
      "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '"
      " || pg_get_constraintdef(oid) FROM pg_constraint"
      " WHERE connamespace = 'public'::regnamespace",
      "SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'",
      "SELECT 'sequence ' || sequencename || ' ' || data_type::text || ' start=' || start_value"
      " || ' min=' || min_value || ' max=' || max_value || ' by=' || increment_by"
      " || ' cycle=' || cycle FROM pg_sequences WHERE schemaname = 'public'",
      // Which column owns which sequence (serial, OWNED BY, identity).
      "SELECT 'owned ' || s.relname || ' by ' || t.relname || '.' || a.attname"
      " FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
      " JOIN pg_class t ON t.oid = d.refobjid"
      " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
      " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
      " AND d.deptype IN ('a', 'i') AND s.relnamespace = 'public'::regnamespace",
      "SELECT 'comment ' || c.relname || ' #' || d.objsubid || ' ' || d.description"
      " FROM pg_description d JOIN pg_class c ON c.oid = d.objoid"
      " WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = 'public'::regnamespace",
      "SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t"
      " JOIN pg_class c ON c.oid = t.tgrelid"
      " WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace",
      "SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p"
      " WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')",
      "SELECT 'enum ' || t.typname || ' ' || e.enumsortorder || ' ' || e.enumlabel"
      " FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
      " WHERE t.typnamespace = 'public'::regnamespace",
  };
  pqxx::connection conn(url);
  pqxx::read_transaction txn(conn);
  std::vector<std::string> lines;
  for (const char* query : kQueries) {
    for (const auto& row : txn.exec(std::string(query) + " ORDER BY 1")) {
      lines.push_back(row[0].as<std::string>());
    }
  }
  return lines;
}

// "" when the two snapshots are equal; otherwise the lines only in `a` ("- ") and only in `b`
// ("+ "), so a failing EXPECT_EQ(SnapshotDiff(a, b), "") shows just what differs.
inline std::string SnapshotDiff(std::vector<std::string> a, std::vector<std::string> b) {
  if (a == b) return "";
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::string> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  std::string diff;
  for (const auto& line : only_a) diff += "- " + line + "\n";
  for (const auto& line : only_b) diff += "+ " + line + "\n";
  return diff.empty() ? "(same lines, different order)\n" : diff;
}

// The schema_migrations rows of a service, oldest first, as "version|name" (and "|applied_at"
// in UTC when with_time).
inline std::vector<std::string> MigrationRows(const std::string& url, const std::string& service,
                                              bool with_time = false) {
  pqxx::connection conn(url);
  pqxx::read_transaction txn(conn);
  std::vector<std::string> rows;
  for (const auto& row : txn.exec_params(
           "SELECT version::text || '|' || name || CASE WHEN $2 THEN '|' ||"
           " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') ELSE '' END"
           " FROM schema_migrations WHERE service = $1 ORDER BY version",
           service, with_time)) {
    rows.push_back(row[0].as<std::string>());
  }
  return rows;
}

// Whether the public schema has a table (or a column of it, when column is not empty).
inline bool HasColumn(const std::string& url, const std::string& table,
                      const std::string& column = "") {
  pqxx::connection conn(url);
  pqxx::read_transaction txn(conn);
  return txn
      .exec_params1(
          "SELECT count(*) > 0 FROM information_schema.columns WHERE table_schema = 'public'"
          " AND table_name = $1 AND ($2 = '' OR column_name = $2)",
          table, column)[0]
      .as<bool>();
}

}  // namespace csms::testing
