#pragma once

// dsql load's progress: on a terminal, one line redrawn a few times a second (rows, rows/s,
// bytes, ETA); otherwise a plain line every few seconds, for logs.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace dsql::cli {

struct progress_snapshot {
  std::uint64_t rows = 0;         // committed
  std::uint64_t bytes_read = 0;   // of the file
  std::uint64_t total_bytes = 0;  // 0 when unknown
  std::uint64_t batches = 0;
  std::uint64_t retries = 0;
};

// The line shown for a snapshot `elapsed` after the start.
std::string progress_line(const progress_snapshot& s, std::chrono::milliseconds elapsed);

// Thread-safe: the display runs on its own thread and reads `source` from there.
class progress_display {
 public:
  progress_display(std::function<progress_snapshot()> source, bool terminal);
  // Stops and, on a terminal, clears the line.
  ~progress_display();
  progress_display(const progress_display&) = delete;
  progress_display& operator=(const progress_display&) = delete;
  void stop();

 private:
  void run();
  std::function<progress_snapshot()> source_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool shown_ = false;
  std::thread thread_;
};

}  // namespace dsql::cli
