#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "cli.h"

namespace glance_store::cli {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t kDelayNs = 1'000'000'000;  // nothing for operations under a second
constexpr std::int64_t kRedrawNs = 100'000'000;   // at most ten redraws a second

}  // namespace

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_ns_(now_ns()) {}

Progress::~Progress() {
  if (drawn_) std::fputs("\n", stderr);
}

void Progress::advance(std::uint64_t bytes) {
  done_ += bytes;
  if (!enabled_) return;
  const std::int64_t now = now_ns();
  if (now - start_ns_ < kDelayNs || now - last_draw_ns_ < kRedrawNs) return;
  last_draw_ns_ = now;
  draw(false);
}

void Progress::finish() {
  if (drawn_) {
    draw(true);
    std::fputs("\n", stderr);
    drawn_ = false;
  }
}

void Progress::draw(bool final) {
  const double seconds = static_cast<double>(now_ns() - start_ns_) / 1e9;
  const double mib = static_cast<double>(done_) / (1024.0 * 1024.0);
  const double rate = seconds > 0 ? mib / seconds : 0;
  if (total_ > 0) {
    const double fraction = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %.1f MiB %.1f MiB/s", label_.c_str(), bar.c_str(),
                 fraction * 100.0, mib, rate);
  } else {
    std::fprintf(stderr, "\r%s %.1f MiB %.1f MiB/s", label_.c_str(), mib, rate);
  }
  if (final) std::fputs(" done", stderr);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace glance_store::cli
