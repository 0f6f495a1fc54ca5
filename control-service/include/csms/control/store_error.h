#pragma once

#include <stdexcept>
#include <string>

namespace csms::control {

// A write a store refused; nothing of it was stored.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { kNotFound, kConflict };
  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  Kind kind;
};

}  // namespace csms::control
