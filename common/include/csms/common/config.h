#pragma once

#include <map>
#include <string>
#include <vector>

namespace csms {

// One command-line flag that can also come from an environment variable (the flag wins).
struct FlagSpec {
  std::string name;  // without the leading "--"
  std::string env;   // environment variable name, may be empty
  std::string default_value;
  std::string help;
};

// 12-factor configuration: `--name=value`, `--name value`, then $ENV, then the default.
class Config {
 public:
  Config(std::string program, std::string summary, std::vector<FlagSpec> specs);

  // Parses argv. Returns false and fills `error` on an unknown flag or a missing value.
  // Sets help_requested() for --help / -h.
  bool Parse(int argc, char** argv, std::string* error);
  bool help_requested() const { return help_requested_; }
  std::string Usage() const;

  const std::string& Get(const std::string& name) const;
  int GetInt(const std::string& name) const;
  double GetDouble(const std::string& name) const;

 private:
  std::string program_;
  std::string summary_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::string> values_;
  bool help_requested_ = false;
};

// Parses the common config and exits the process with usage on --help (0) or bad flags (2).
Config ParseConfigOrExit(int argc, char** argv, std::string program, std::string summary,
                         std::vector<FlagSpec> specs);

}  // namespace csms
