#include "csms/gateway/dashboard_assets.h"

#include <algorithm>

#include "csms/embedded/dashboard_files.h"

namespace csms::gateway {
namespace {

std::string ContentType(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  if (ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

}  // namespace

std::optional<DashboardAsset> FindDashboardAsset(const std::string& path) {
  std::string_view name;
  constexpr std::string_view kAssets = "/assets/";
  if (path == "/" || path == "/index.html") {
    name = "index.html";
  } else if (path.size() > kAssets.size() && path.compare(0, kAssets.size(), kAssets) == 0) {
    name = std::string_view(path).substr(kAssets.size());
  } else {
    return std::nullopt;
  }
  const auto files = embedded::dashboard_files::Files();
  auto it = std::lower_bound(files.begin(), files.end(), name,
                             [](const auto& file, std::string_view n) { return file.name < n; });
  if (it == files.end() || it->name != name) return std::nullopt;
  // The offline base map (0.76 MB) is data that changes only with a release: browsers keep it a
  // day instead of fetching it on every page load. Code and the page follow each release at once.
  const bool basemap = name == "basemap.json";
  return DashboardAsset{it->contents, ContentType(name),
                        basemap ? "public, max-age=86400" : std::string()};
}

}  // namespace csms::gateway
