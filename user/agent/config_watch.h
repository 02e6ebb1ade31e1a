// Tells the agent when to reload its config, from a thread of its own: at once on SIGHUP
// (forced), and after a quiet moment when the file changes. Changes are seen through inotify
// on the file's directory rather than on the file: editors replace a file by renaming a new
// one over it, and a Kubernetes ConfigMap volume swaps its "..data" symlink to a new
// directory, neither of which an inotify watch on the old file would see. Events for the
// file's own name and for names starting with ".." (the ConfigMap's) count.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace difftrace::agent {

class ConfigWatch {
 public:
  // How long the directory must stay quiet after an event before on_change runs: a
  // ConfigMap update or an editor's save is several events.
  static constexpr std::chrono::milliseconds kQuiet{200};

  // Blocks SIGHUP in the calling thread, so that threads started after it inherit the mask
  // and SIGHUP reaches only the watch's signalfd. Call it before starting any thread.
  static void block_hangup();

  // on_change(forced) runs on the watch's thread. Throws FatalError(kEnvironment) when
  // inotify or the signalfd cannot be had.
  ConfigWatch(const std::string& path, std::function<void(bool forced)> on_change);
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;

  // Stops the thread (also done by the destructor).
  void stop();

 private:
  void run();
  bool drain_inotify();  // true when an event concerned the file

  std::string name_;  // the file's name in its directory
  std::function<void(bool)> on_change_;
  int inotify_fd_ = -1;
  int signal_fd_ = -1;
  int stop_fd_ = -1;  // eventfd
  std::thread thread_;
};

}  // namespace difftrace::agent
