#pragma once

// A strict parser of the Prometheus text exposition format 0.0.4, for tests: every line is
// blank, a comment (# HELP / # TYPE checked), or `name{labels} value [timestamp]`; every
// sample's family has a TYPE declared before it; histograms have cumulative buckets ending in
// le="+Inf" whose count equals _count. Anything else is an error.

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace csms::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::vector<PromSample> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram, ...
  std::vector<std::string> errors;           // empty when the text is valid

  // Sum of the samples named `name` whose labels include all of `match`.
  double Sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      if (ok) total += s.value;
    }
    return total;
  }
  bool Has(const std::string& name) const {
    for (const auto& s : samples) {
      if (s.name == name) return true;
    }
    return false;
  }
};

namespace prom_detail {

inline bool NameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
inline bool NameChar(char c, bool colon) { return NameStart(c, colon) || (c >= '0' && c <= '9'); }

inline bool ParseValue(std::string_view text, double* out) {
  if (text == "+Inf" || text == "Inf") {
    *out = INFINITY;
    return true;
  }
  if (text == "-Inf") {
    *out = -INFINITY;
    return true;
  }
  if (text == "NaN") {
    *out = NAN;
    return true;
  }
  if (text.empty()) return false;
  std::string copy(text);
  char* end = nullptr;
  *out = std::strtod(copy.c_str(), &end);
  // strtod also accepts hex, "inf" and "nan" spellings the format does not.
  for (char c : copy) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return false;
    }
  }
  return end == copy.c_str() + copy.size();
}

// The family a sample belongs to, given the declared types.
inline std::string FamilyOf(const std::string& name,
                            const std::map<std::string, std::string>& types) {
  if (types.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return "";
}

}  // namespace prom_detail

inline PromText ParsePromText(std::string_view text) {
  using namespace prom_detail;
  PromText out;
  std::set<std::string> helped, sampled_families, seen_series;
  size_t line_no = 0;
  auto fail = [&](const std::string& why, std::string_view line) {
    out.errors.push_back("line " + std::to_string(line_no) + ": " + why + ": " + std::string(line));
  };
  if (!text.empty() && text.back() != '\n') out.errors.push_back("text does not end with \\n");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool is_type = line[2] == 'T';
        std::string_view rest = line.substr(7);
        size_t sp = rest.find(' ');
        std::string name(rest.substr(0, sp));
        bool valid = !name.empty() && NameStart(name[0], true);
        for (char c : name) valid = valid && NameChar(c, true);
        if (!valid) {
          fail("bad metric name in comment", line);
          continue;
        }
        if (is_type) {
          std::string type = sp == std::string_view::npos ? "" : std::string(rest.substr(sp + 1));
          static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                       "untyped"};
          if (!kTypes.count(type)) fail("unknown type", line);
          if (out.types.count(name)) fail("second TYPE for " + name, line);
          if (sampled_families.count(name)) fail("TYPE after samples of " + name, line);
          out.types[name] = type;
        } else {
          if (!helped.insert(name).second) fail("second HELP for " + name, line);
          std::string_view help = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
          for (size_t i = 0; i < help.size(); ++i) {
            if (help[i] == '\\') {
              if (i + 1 >= help.size() || (help[i + 1] != '\\' && help[i + 1] != 'n')) {
                fail("bad escape in HELP", line);
              }
              ++i;
            }
          }
        }
      }
      continue;  // any other comment is allowed
    }
    PromSample sample;
    size_t i = 0;
    while (i < line.size() && NameChar(line[i], true)) ++i;
    sample.name = std::string(line.substr(0, i));
    if (sample.name.empty() || !NameStart(sample.name[0], true)) {
      fail("bad metric name", line);
      continue;
    }
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        size_t start = i;
        while (i < line.size() && NameChar(line[i], false)) ++i;
        std::string label(line.substr(start, i - start));
        if (label.empty() || !NameStart(label[0], false) || i >= line.size() || line[i] != '=' ||
            i + 1 >= line.size() || line[i + 1] != '"') {
          fail("bad label", line);
          ok = false;
          break;
        }
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            char e = line[i++];
            if (e == '\\') {
              value += '\\';
            } else if (e == '"') {
              value += '"';
            } else if (e == 'n') {
              value += '\n';
            } else {
              fail("bad escape in label value", line);
              ok = false;
              break;
            }
          } else {
            value += c;
          }
        }
        if (!ok) break;
        if (!closed) {
          fail("unterminated label value", line);
          ok = false;
          break;
        }
        if (!sample.labels.emplace(label, value).second) {
          fail("duplicate label " + label, line);
          ok = false;
        }
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (!ok) continue;
      if (i >= line.size() || line[i] != '}') {
        fail("unterminated label set", line);
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no space before the value", line);
      continue;
    }
    std::string_view rest = line.substr(i + 1);
    size_t sp = rest.find(' ');
    if (!ParseValue(rest.substr(0, sp), &sample.value)) {
      fail("bad value", line);
      continue;
    }
    if (sp != std::string_view::npos) {
      std::string_view ts = rest.substr(sp + 1);
      bool digits = !ts.empty();
      for (size_t k = 0; k < ts.size(); ++k) {
        digits = digits && ((ts[k] >= '0' && ts[k] <= '9') || (k == 0 && ts[k] == '-'));
      }
      if (!digits) {
        fail("bad timestamp", line);
        continue;
      }
    }
    const std::string family = FamilyOf(sample.name, out.types);
    if (family.empty()) {
      fail("sample without a TYPE for its family", line);
      continue;
    }
    sampled_families.insert(family);
    std::string series = sample.name + "{";
    for (const auto& [k, v] : sample.labels) series += k + "=" + v + ",";
    if (!seen_series.insert(series).second) fail("duplicate series", line);
    const std::string& type = out.types[family];
    if (type == "counter" && (sample.value < 0 || std::isnan(sample.value))) {
      fail("negative counter", line);
    }
    if (type == "histogram" && sample.name == family) fail("histogram sample without suffix", line);
    if (type == "histogram" && sample.name == family + "_bucket" && !sample.labels.count("le")) {
      fail("bucket without le", line);
    }
    out.samples.push_back(std::move(sample));
  }

  // Histograms: per label set, buckets cumulative and ending with +Inf == _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    std::set<std::map<std::string, std::string>> sums;
    for (const auto& s : out.samples) {
      auto labels = s.labels;
      if (s.name == family + "_bucket") {
        double le = 0;
        if (!ParseValue(labels["le"], &le)) {
          out.errors.push_back(family + ": bad le " + labels["le"]);
          continue;
        }
        labels.erase("le");
        buckets[labels].emplace_back(le, s.value);
      } else if (s.name == family + "_count") {
        counts[labels] = s.value;
      } else if (s.name == family + "_sum") {
        sums.insert(labels);
      }
    }
    for (const auto& [labels, list] : buckets) {
      for (size_t k = 1; k < list.size(); ++k) {
        if (!(list[k].first > list[k - 1].first)) {
          out.errors.push_back(family + ": le not increasing");
        }
        if (list[k].second < list[k - 1].second) {
          out.errors.push_back(family + ": buckets not cumulative");
        }
      }
      if (list.empty() || !std::isinf(list.back().first)) {
        out.errors.push_back(family + ": buckets do not end with +Inf");
        continue;
      }
      if (!counts.count(labels) || counts[labels] != list.back().second) {
        out.errors.push_back(family + ": _count missing or not equal to the +Inf bucket");
      }
      if (!sums.count(labels)) out.errors.push_back(family + ": _sum missing");
    }
  }
  return out;
}

}  // namespace csms::testing
