#include "csms/common/config.h"

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "csms/common/log.h"

namespace csms {

Config::Config(std::string program, std::string summary, std::vector<FlagSpec> specs)
    : program_(std::move(program)), summary_(std::move(summary)), specs_(std::move(specs)) {
  for (const auto& spec : specs_) {
    const char* env = spec.env.empty() ? nullptr : std::getenv(spec.env.c_str());
    values_[spec.name] = env != nullptr ? std::string(env) : spec.default_value;
  }
}

bool Config::Parse(int argc, char** argv, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      *error = "unexpected argument '" + arg + "'";
      return false;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (values_.find(name) == values_.end()) {
      *error = "unknown flag --" + name;
      return false;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        *error = "flag --" + name + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    values_[name] = value;
    from_argv_.insert(name);
  }
  return true;
}

std::vector<std::string> Config::PasswordsOnCommandLine() const {
  auto secret_name = [](const std::string& name) {
    const bool names_a_file = name.size() >= 5 && name.compare(name.size() - 5, 5, "-file") == 0;
    return !names_a_file &&
           (name.find("password") != std::string::npos ||
            name.find("secret") != std::string::npos || name.find("token") != std::string::npos);
  };
  std::vector<std::string> names;
  for (const auto& name : from_argv_) {
    const std::string& value = Get(name);
    if ((secret_name(name) && !value.empty()) || ValueCarriesPassword(value)) {
      names.push_back(name);
    }
  }
  return names;
}

bool ValueCarriesPassword(std::string_view value) {
  // scheme://user:password@host...: a colon in the user information (before the first '@',
  // within the authority, which ends at the first '/', '?' or '#').
  if (auto scheme = value.find("://"); scheme != std::string_view::npos) {
    std::string_view authority = value.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      auto colon = authority.substr(0, at).find(':');
      if (colon != std::string_view::npos && colon + 1 < at) return true;
    }
  }
  // A URL query or a keyword/value string: "password=" starting a parameter, with a value.
  for (size_t pos = value.find("password="); pos != std::string_view::npos;
       pos = value.find("password=", pos + 1)) {
    const bool starts = pos == 0 || value[pos - 1] == ' ' || value[pos - 1] == '?' ||
                        value[pos - 1] == '&' || value[pos - 1] == '\t';
    const size_t after = pos + 9;
    if (starts && after < value.size() && value[after] != ' ' && value[after] != '&') return true;
  }
  return false;
}

std::string Config::Usage() const {
  std::ostringstream out;
  out << "Usage: " << program_ << " [flags]\n" << summary_ << "\n\nFlags (environment variable):\n";
  for (const auto& spec : specs_) {
    out << "  --" << spec.name;
    if (!spec.env.empty()) out << " (" << spec.env << ")";
    out << "\n      " << spec.help;
    if (!spec.default_value.empty()) out << " [default: " << spec.default_value << "]";
    out << "\n";
  }
  return out.str();
}

const std::string& Config::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("undeclared flag " + name);
  return it->second;
}

int Config::GetInt(const std::string& name) const {
  const std::string& v = Get(name);
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--" + name + " must be an integer, got '" + v + "'");
}

double Config::GetDouble(const std::string& name) const {
  const std::string& v = Get(name);
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--" + name + " must be a number, got '" + v + "'");
}

Config ParseConfigOrExit(int argc, char** argv, std::string program, std::string summary,
                         std::vector<FlagSpec> specs) {
  specs.push_back({"log-level", "CSMS_LOG_LEVEL", "info", "debug, info, warn or error"});
  specs.push_back({"log-format", "CSMS_LOG_FORMAT", "text",
                   "text (one readable line per event) or json (one JSON object per line)"});
  Config config(std::move(program), std::move(summary), std::move(specs));
  std::string error;
  if (!config.Parse(argc, argv, &error)) {
    std::cerr << error << "\n\n" << config.Usage();
    std::exit(2);
  }
  if (config.help_requested()) {
    std::cout << config.Usage();
    std::exit(0);
  }
  if (!log::SetFormat(config.Get("log-format"))) {
    std::cerr << "--log-format must be text or json\n";
    std::exit(2);
  }
  for (const auto& name : config.PasswordsOnCommandLine()) {
    CSMS_LOG(kWarn, "config") << "--" << name
                              << " carries a password on the command line, where every local "
                                 "user can read it (ps, /proc/<pid>/cmdline); give it through the "
                                 "flag's environment variable instead (see --help), or for "
                                 "PostgreSQL through PGPASSWORD or a PGPASSFILE";
  }
  return config;
}

}  // namespace csms
