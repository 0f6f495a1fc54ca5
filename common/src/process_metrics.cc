// process_* figures read from /proc/self at scrape time (the names the Prometheus client
// libraries use, so standard dashboards work).
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "csms/common/metrics.h"

namespace csms::metrics {
namespace {

struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, start_ticks = 0;
  double threads = 0, vsize = 0, rss_pages = 0;
  bool ok = false;
};

ProcStat ReadStat() {
  ProcStat s;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return s;
  // The command name (field 2) may contain spaces and parentheses: fields resume after the
  // last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  // Field 3 is the first after the name; utime is 14, stime 15, num_threads 20, starttime 22,
  // vsize 23, rss 24.
  for (int index = 3; rest >> field; ++index) {
    switch (index) {
      case 14:
        s.utime_ticks = std::stod(field);
        break;
      case 15:
        s.stime_ticks = std::stod(field);
        break;
      case 20:
        s.threads = std::stod(field);
        break;
      case 22:
        s.start_ticks = std::stod(field);
        break;
      case 23:
        s.vsize = std::stod(field);
        break;
      case 24:
        s.rss_pages = std::stod(field);
        s.ok = true;
        return s;
      default:
        break;
    }
  }
  return s;
}

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory stream's own descriptor
}

}  // namespace

void RegisterProcessMetrics(Registry& registry) {
  static std::mutex mu;
  static std::vector<Registry*> done;
  {
    std::lock_guard lock(mu);
    if (std::find(done.begin(), done.end(), &registry) != done.end()) return;
    done.push_back(&registry);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Start time never changes: computed once.
  const double start_time = BootTimeSeconds() + ReadStat().start_ticks / ticks;
  registry.AddCallback("process_cpu_seconds_total", "Total user and system CPU time, seconds.",
                       Type::kCounter, [ticks] {
                         auto s = ReadStat();
                         return (s.utime_ticks + s.stime_ticks) / ticks;
                       });
  registry.AddCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
                       Type::kGauge, [page] { return ReadStat().rss_pages * page; });
  registry.AddCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                       Type::kGauge, [] { return ReadStat().vsize; });
  registry.AddCallback("process_open_fds", "Number of open file descriptors.", Type::kGauge,
                       OpenFds);
  registry.AddCallback("process_max_fds", "Maximum number of open file descriptors.", Type::kGauge,
                       [] {
                         rlimit limit{};
                         getrlimit(RLIMIT_NOFILE, &limit);
                         return static_cast<double>(limit.rlim_cur);
                       });
  registry.AddCallback("process_threads", "Number of OS threads in the process.", Type::kGauge,
                       [] { return ReadStat().threads; });
  registry.AddCallback("process_start_time_seconds",
                       "Start time of the process since the Unix epoch, seconds.", Type::kGauge,
                       [start_time] { return start_time; });
}

}  // namespace csms::metrics
