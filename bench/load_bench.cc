// A load generator (issue 18): N clients add, read back and delete images at once on one store,
// every byte checked (each get's size and md5 against its add's), and report aggregate
// throughput, latency percentiles, errors and peak RSS as JSON. Clients are threads sharing one
// StoreRegistry, as Glance's API workers share glance_store, or separate `glance-store`
// processes. Exits 1 when any operation failed or any image came back different.
//
//   load_bench --config FILE [--backend ID] [--clients 16] [--images 2] [--size 1048576]
//              [--mode threads|processes] [--binary glance-store] [--tmpdir DIR]
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "glance_store/backend.h"
#include "glance_store/config.h"
#include "glance_store/error.h"
#include "glance_store/hashing.h"
#include "glance_store/stream.h"

extern char** environ;

namespace {

namespace gs = glance_store;
using Clock = std::chrono::steady_clock;

struct Settings {
  std::string config;
  std::string backend;
  int clients = 16;
  int images = 2;  // per client
  std::uint64_t size = 1 << 20;
  std::string mode = "threads";
  std::string binary = "glance-store";
  std::string tmpdir = "/tmp";
};

// What the clients saw, merged under a lock.
struct Tally {
  std::mutex mutex;
  std::vector<double> add_ms, get_ms;
  int errors = 0, mismatches = 0;
  std::uint64_t bytes = 0;  // added plus read back
  std::vector<std::string> first_errors;

  void error(const std::string& what) {
    std::lock_guard lock(mutex);
    ++errors;
    if (first_errors.size() < 5) first_errors.push_back(what);
  }
};

// An image of `size` pseudo-random bytes (the same for the same seed), made as it is read and
// hashed on the way, so that the bench's own memory stays small beside what it measures: a
// client never holds its image whole.
class GeneratedImage final : public gs::InputStream {
 public:
  GeneratedImage(std::uint64_t size, std::uint64_t seed) : random_(seed), left_(size) {}

  std::size_t read(std::span<std::byte> out) override {
    std::size_t n = 0;
    while (n < out.size() && left_ > 0) {
      if (at_ == block_.size()) refill();
      const std::size_t take = static_cast<std::size_t>(
          std::min<std::uint64_t>({out.size() - n, block_.size() - at_, left_}));
      std::memcpy(out.data() + n, block_.data() + at_, take);
      md5_->update(std::span(block_).subspan(at_, take));
      at_ += take;
      n += take;
      left_ -= take;
    }
    return n;
  }

  /// The md5 of every byte read; call once, at the end.
  std::string md5() { return md5_->hexdigest(); }

 private:
  void refill() {
    for (std::size_t i = 0; i < block_.size(); i += 8) {
      const std::uint64_t v = random_();
      std::memcpy(block_.data() + i, &v, 8);
    }
    at_ = 0;
  }

  std::mt19937_64 random_;
  std::uint64_t left_;
  std::array<std::byte, 1 << 16> block_{};
  std::size_t at_ = block_.size();
  std::unique_ptr<gs::Hasher> md5_ = gs::Hasher::create("md5");
};

// Reads `in` to its end in pieces of 1 MiB; returns the bytes read and their md5.
std::pair<std::uint64_t, std::string> drain(gs::InputStream& in) {
  auto hasher = gs::Hasher::create("md5");
  std::vector<std::byte> buffer(1 << 20);
  std::uint64_t read = 0;
  while (const std::size_t n = in.read(buffer)) {
    hasher->update(std::span(buffer).first(n));
    read += n;
  }
  return {read, hasher->hexdigest()};
}

std::uint64_t seed_of(int client, int image) {
  return static_cast<std::uint64_t>(client) * 1000 + static_cast<std::uint64_t>(image);
}

std::string image_id(int client, int image) {
  static const std::uint64_t run = std::random_device{}();
  char id[64];
  std::snprintf(id, sizeof id, "load-%016llx-%d-%d", static_cast<unsigned long long>(run), client,
                image);
  return id;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void run_thread_client(const gs::StoreRegistry& registry, const Settings& s, int client,
                       Tally& tally) {
  for (int i = 0; i < s.images; ++i) {
    const std::string id = image_id(client, i);
    try {
      auto start = Clock::now();
      GeneratedImage in(s.size, seed_of(client, i));
      const gs::AddResult added = registry.add(id, in, s.size, "sha512", s.backend);
      const std::string md5 = in.md5();
      const double add_ms = ms_since(start);
      start = Clock::now();
      gs::GetResult got = registry.get(added.location, 0, std::nullopt, s.backend);
      const auto [read, read_md5] = drain(*got.stream);
      const double get_ms = ms_since(start);
      const bool same = read == s.size && read_md5 == md5 && added.checksum == md5;
      registry.remove(added.location, s.backend);
      std::lock_guard lock(tally.mutex);
      tally.add_ms.push_back(add_ms);
      tally.get_ms.push_back(get_ms);
      tally.bytes += s.size + read;
      if (!same) ++tally.mismatches;
    } catch (const std::exception& e) {
      tally.error(id + ": " + e.what());
    }
  }
}

// Runs the tool; returns its exit status and what it printed.
int run_tool(const Settings& s, std::vector<std::string> args, std::string* out) {
  args.insert(args.begin(), {s.binary, "--config", s.config});
  if (!s.backend.empty()) args.insert(args.begin() + 3, {"--backend", s.backend});
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  pid_t pid = 0;
  const int r = ::posix_spawn(&pid, s.binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) {
    out->append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (r != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Writes the image to `path` in pieces; returns its md5.
std::string write_image(const std::string& path, std::uint64_t size, std::uint64_t seed) {
  GeneratedImage image(size, seed);
  std::ofstream out(path, std::ios::binary);
  std::vector<std::byte> buffer(1 << 20);
  while (const std::size_t n = image.read(buffer)) {
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(n));
  }
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
  return image.md5();
}

// The processes' peak RSS is the largest child's: the parent stays small (images go through
// files in pieces), since a spawned child's peak starts from its parent's at exec.
void run_process_client(const Settings& s, int client, Tally& tally) {
  for (int i = 0; i < s.images; ++i) {
    const std::string id = image_id(client, i);
    const std::string source = s.tmpdir + "/" + id + ".in";
    const std::string copy = s.tmpdir + "/" + id + ".out";
    std::string md5;
    try {
      md5 = write_image(source, s.size, seed_of(client, i));
    } catch (const std::exception& e) {
      tally.error(id + ": " + e.what());
      continue;
    }
    std::string out;
    auto start = Clock::now();
    if (run_tool(s, {"add", "--show-credentials", "--image-id", id, source}, &out) != 0) {
      tally.error(id + ": add failed");
      ::unlink(source.c_str());
      continue;
    }
    const double add_ms = ms_since(start);
    const auto added = nlohmann::json::parse(out, nullptr, false);
    const std::string location = added.is_object() ? added.value("location", "") : "";
    start = Clock::now();
    out.clear();
    const int got = run_tool(s, {"get", "-o", copy, location}, &out);
    const double get_ms = ms_since(start);
    std::pair<std::uint64_t, std::string> back{0, ""};
    if (const int fd = ::open(copy.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
      gs::FdInputStream in(fd);
      back = drain(in);
      ::close(fd);
    }
    out.clear();
    const int removed = run_tool(s, {"delete", location}, &out);
    ::unlink(source.c_str());
    ::unlink(copy.c_str());
    if (got != 0 || removed != 0) {
      tally.error(id + (got != 0 ? ": get failed" : ": delete failed"));
      continue;
    }
    std::lock_guard lock(tally.mutex);
    tally.add_ms.push_back(add_ms);
    tally.get_ms.push_back(get_ms);
    tally.bytes += s.size + back.first;
    if (back.first != s.size || back.second != md5 || added.value("checksum", "") != md5) {
      ++tally.mismatches;
    }
  }
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::lround(p * static_cast<double>(values.size() - 1)));
  return values[std::min(rank, values.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Concurrent adds and gets on one store, every byte checked"};
  app.add_option("--config", s.config, "glance-api.conf of the store")->required();
  app.add_option("--backend", s.backend, "backend id (multi-store) or store type");
  app.add_option("--clients", s.clients, "clients at once")->check(CLI::Range(1, 1024));
  app.add_option("--images", s.images, "images each client adds, reads and deletes")
      ->check(CLI::Range(1, 100000));
  app.add_option("--size", s.size, "bytes per image");
  app.add_option("--mode", s.mode, "threads (one process) or processes (the tool)")
      ->check(CLI::IsMember({"threads", "processes"}));
  app.add_option("--binary", s.binary, "the glance-store tool, for --mode processes");
  app.add_option("--tmpdir", s.tmpdir, "where processes' images are written and read back");
  CLI11_PARSE(app, argc, argv);

  Tally tally;
  const auto start = Clock::now();
  try {
    std::unique_ptr<gs::StoreRegistry> registry;
    if (s.mode == "threads") registry = gs::StoreRegistry::create(gs::ConfigFile::load(s.config));
    std::vector<std::thread> clients;
    clients.reserve(static_cast<std::size_t>(s.clients));
    for (int c = 0; c < s.clients; ++c) {
      clients.emplace_back([&, c] {
        if (registry) {
          run_thread_client(*registry, s, c, tally);
        } else {
          run_process_client(s, c, tally);
        }
      });
    }
    for (auto& t : clients) t.join();
  } catch (const std::exception& e) {
    tally.error(std::string("setup: ") + e.what());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  rusage usage{};
  ::getrusage(s.mode == "threads" ? RUSAGE_SELF : RUSAGE_CHILDREN, &usage);
  const nlohmann::json report = {
      {"mode", s.mode},
      {"clients", s.clients},
      {"images", s.clients * s.images},
      {"size", s.size},
      {"completed", tally.add_ms.size()},
      {"errors", tally.errors},
      {"mismatches", tally.mismatches},
      {"first_errors", tally.first_errors},
      {"seconds", seconds},
      {"mib_per_s", static_cast<double>(tally.bytes) / (1 << 20) / seconds},
      {"add_ms_p50", percentile(tally.add_ms, 0.5)},
      {"add_ms_p99", percentile(tally.add_ms, 0.99)},
      {"get_ms_p50", percentile(tally.get_ms, 0.5)},
      {"get_ms_p99", percentile(tally.get_ms, 0.99)},
      // processes: the largest child's
      {"peak_rss_mib", static_cast<double>(usage.ru_maxrss) / 1024}};
  std::cout << report.dump() << "\n";
  return tally.errors == 0 && tally.mismatches == 0 &&
                 static_cast<int>(tally.add_ms.size()) == s.clients * s.images
             ? 0
             : 1;
}
