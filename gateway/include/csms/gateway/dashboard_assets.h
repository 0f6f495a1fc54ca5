#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace csms::gateway {

struct DashboardAsset {
  std::string_view contents;
  std::string content_type;
  std::string cache_control;  // "" : the server's default
};

// The dashboard's static files, bundled by esbuild at build time and embedded into the binary
// (dashboard/, cmake/Dashboard.cmake): "/" and "/index.html" are the page, "/assets/<file>" the
// rest. nullopt for any other path.
std::optional<DashboardAsset> FindDashboardAsset(const std::string& path);

}  // namespace csms::gateway
