// trtorchc's progress on stdout: a line per stage begun and ended, with elapsed times, and the
// compiler's own progress (lowering, shape analysis, engine segments, kernels built of total, the
// current op): a live bar on a terminal, plain lines otherwise (at each stage's start and end and
// every tenth of it).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "core/util/progress.h"

namespace trtorchc {

// Per-stage progress lines with elapsed times.
class Progress {
 public:
  explicit Progress(bool quiet) : quiet_(quiet), start_(Clock::now()) {}
  void begin(const std::string& stage, const std::string& what) {
    stage_ = stage;
    stage_start_ = Clock::now();
    line(stage + ": " + what + " ...");
  }
  void end(const std::string& result = "done") {
    std::ostringstream os;
    os.precision(3);
    os << std::fixed << stage_ << ": " << result << " (" << seconds(stage_start_) << " s, total " << seconds(start_)
       << " s)";
    line(os.str());
  }
  void line(const std::string& s) {
    if (quiet_) return;
    clear_bar();
    std::cout << "[trtorchc] " << s << std::endl;
  }

  // The compiler's progress reports, rendered for as long as the result lives.
  trtorch::util::ProgressCallback reporter() {
    if (quiet_) return nullptr;
    return [this](const std::string& stage, size_t done, size_t total, const std::string& item) {
      report(stage, done, total, item);
    };
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

  void report(const std::string& stage, size_t done, size_t total, const std::string& item) {
    const bool started = stage != sub_stage_;
    if (started) sub_stage_ = stage, sub_start_ = Clock::now(), last_tenth_ = 0;
    std::ostringstream os;
    os.precision(1);
    os << std::fixed << "  " << stage << " " << done << "/" << total;
    if (total > 0 && !tty_) {
      const size_t tenth = done * 10 / total;
      if (!started && done < total && tenth == last_tenth_) return;  // plain lines: every tenth
      last_tenth_ = tenth;
    }
    if (!item.empty() && done < total) os << ", " << item;
    os << " (" << seconds(sub_start_) << " s)";
    if (tty_) {
      // A live bar: [#####.....] rewritten in place.
      const int width = 24, filled = total ? int(width * done / total) : width;
      std::string bar = "[" + std::string(size_t(filled), '#') + std::string(size_t(width - filled), '.') + "]";
      std::string text = "[trtorchc] " + bar + os.str();
      if (text.size() > 110) text.resize(110);
      std::cout << "\r" << text << std::string(bar_width_ > text.size() ? bar_width_ - text.size() : 0, ' ')
                << std::flush;
      bar_width_ = text.size();
      if (done >= total) clear_bar(/*keep=*/true);
    } else {
      std::cout << "[trtorchc] " << os.str() << std::endl;
    }
  }

  void clear_bar(bool keep = false) {
    if (!tty_ || bar_width_ == 0) return;
    if (keep) std::cout << "\n";
    else std::cout << "\r" << std::string(bar_width_, ' ') << "\r";
    std::cout << std::flush;
    bar_width_ = 0;
  }

  bool quiet_;
  bool tty_ = ::isatty(STDOUT_FILENO) == 1;
  Clock::time_point start_, stage_start_, sub_start_;
  std::string stage_, sub_stage_;
  size_t last_tenth_ = 0, bar_width_ = 0;
};

}  // namespace trtorchc
