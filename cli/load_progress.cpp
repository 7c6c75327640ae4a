#include "load_progress.hpp"

#include <iostream>

#include "output_format.hpp"

namespace dsql::cli {

std::string progress_line(const progress_snapshot& s, std::chrono::milliseconds elapsed) {
  const double seconds = std::max(0.001, static_cast<double>(elapsed.count()) / 1000.0);
  const auto rate = static_cast<std::uint64_t>(static_cast<double>(s.rows) / seconds);
  std::string line =
      thousands(s.rows) + " rows, " + thousands(rate) + " rows/s, " + bytes_text(s.bytes_read);
  if (s.total_bytes) {
    line += " of " + bytes_text(s.total_bytes);
    const double byte_rate = static_cast<double>(s.bytes_read) / seconds;
    if (s.bytes_read > 0 && s.bytes_read < s.total_bytes && byte_rate > 0) {
      const auto left = static_cast<long long>(static_cast<double>(s.total_bytes - s.bytes_read) /
                                               byte_rate * 1000.0);
      line += ", ETA " + duration_text(std::chrono::milliseconds(left));
    }
  }
  line += ", " + thousands(s.batches) + (s.batches == 1 ? " batch" : " batches");
  if (s.retries) line += ", " + thousands(s.retries) + (s.retries == 1 ? " retry" : " retries");
  return line;
}

progress_display::progress_display(std::function<progress_snapshot()> source, bool terminal)
    : source_(std::move(source)), terminal_(terminal), start_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] { run(); });
}

progress_display::~progress_display() {
  stop();
}

void progress_display::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (terminal_ && shown_) std::cerr << "\r\x1b[K" << std::flush;
}

void progress_display::run() {
  const auto interval =
      terminal_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(5000);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start_);
    const std::string line = progress_line(source_(), elapsed);
    if (terminal_) {
      std::cerr << "\r\x1b[K" << line << std::flush;
    } else {
      std::cerr << "dsql load: " << line << std::endl;
    }
    shown_ = true;
  }
}

}  // namespace dsql::cli
