#include "csms/common/time_util.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace csms {

TimePoint RealClock::Now() const {
  return std::chrono::time_point_cast<std::chrono::microseconds>(SystemClock::now());
}

std::string FormatRfc3339(SystemClock::time_point t, bool millis) {
  return FormatRfc3339(std::chrono::time_point_cast<std::chrono::microseconds>(t), millis);
}

std::string FormatRfc3339(TimePoint t, bool millis) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  std::time_t tt = secs.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (millis) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
    n += std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms));
  }
  buf[n++] = 'Z';
  return std::string(buf, n);
}

namespace {
bool ReadDigits(std::string_view s, size_t& pos, int count, int& out) {
  out = 0;
  for (int i = 0; i < count; ++i) {
    if (pos >= s.size() || !std::isdigit(static_cast<unsigned char>(s[pos]))) return false;
    out = out * 10 + (s[pos++] - '0');
  }
  return true;
}
bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && (s[pos] == c || std::tolower(s[pos]) == std::tolower(c))) {
    ++pos;
    return true;
  }
  return false;
}
}  // namespace

std::optional<TimePoint> ParseRfc3339(std::string_view s) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, pos, 4, year) || !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, month) ||
      !Expect(s, pos, '-') || !ReadDigits(s, pos, 2, day)) {
    return std::nullopt;
  }
  if (!(Expect(s, pos, 'T') || Expect(s, pos, ' '))) return std::nullopt;
  if (!ReadDigits(s, pos, 2, hour) || !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, minute) ||
      !Expect(s, pos, ':') || !ReadDigits(s, pos, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int oh, om;
      if (!ReadDigits(s, pos, 2, oh)) return std::nullopt;
      Expect(s, pos, ':');
      if (!ReadDigits(s, pos, 2, om)) return std::nullopt;
      if (oh > 23 || om > 59) return std::nullopt;
      offset_minutes = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size()) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                  std::chrono::day(day)};
  if (!ymd.ok()) return std::nullopt;
  auto days = std::chrono::sys_days(ymd);
  TimePoint t = std::chrono::time_point_cast<std::chrono::microseconds>(days) +
                std::chrono::hours(hour) + std::chrono::minutes(minute - offset_minutes) +
                std::chrono::seconds(second) + std::chrono::microseconds(micros);
  return t;
}

google::protobuf::Timestamp ToProto(TimePoint t) {
  google::protobuf::Timestamp ts;
  int64_t us = t.time_since_epoch().count();
  int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>((us - secs * 1000000) * 1000));
  return ts;
}

TimePoint FromProto(const google::protobuf::Timestamp& ts) {
  return TimePoint(std::chrono::microseconds(ts.seconds() * 1000000 + ts.nanos() / 1000));
}

}  // namespace csms
