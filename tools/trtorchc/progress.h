// trtorchc's progress lines on stdout: one per stage begun and ended, with elapsed times.
#pragma once

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>

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
  void line(const std::string& s) const {
    if (!quiet_) std::cout << "[trtorchc] " << s << std::endl;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  bool quiet_;
  Clock::time_point start_, stage_start_;
  std::string stage_;
};

}  // namespace trtorchc
