#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
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
  // True when the flag's value came from argv (not the environment or the default).
  bool FromCommandLine(const std::string& name) const { return from_argv_.count(name) != 0; }
  // The flags given on the command line that carry a secret: a value with a password in it
  // (ValueCarriesPassword), or any value of a flag named for one (*password*, *secret*,
  // *token*; not *-file, which names where the secret is).
  std::vector<std::string> PasswordsOnCommandLine() const;

 private:
  std::string program_;
  std::string summary_;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::string> values_;
  std::set<std::string> from_argv_;
  bool help_requested_ = false;
};

// True when a flag value holds a password: a URL with one in its user information
// (postgresql://user:secret@host/db) or a libpq keyword string with password=... . Secrets
// belong in files or the environment; every local user can read a process's command line.
bool ValueCarriesPassword(std::string_view value);

// Parses the common config and exits the process with usage on --help (0) or bad flags (2).
// Warns about each flag that carries a password on the command line.
Config ParseConfigOrExit(int argc, char** argv, std::string program, std::string summary,
                         std::vector<FlagSpec> specs);

}  // namespace csms
