//===- ThreadPool.h - the threads a session runs parallel loops on ------*- C++ -*-===//
//
// Compiled models hand each outermost parallel loop to the runtime as a
// chunk function over an iteration range (see dyn-outline-parallel-loops).
// A session's pool splits the range among its threads; the calling thread
// is one of them.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_RUNTIME_THREADPOOL_H
#define DYNC_RUNTIME_THREADPOOL_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace dync::rt {

/// Runs iterations [lo, hi) of a compiled loop; `frame` holds its captures.
using ChunkFn = void (*)(void *frame, int64_t lo, int64_t hi);

/// Operations (the compiler's estimate) below which one more thread is not
/// worth waking: a parallel loop gets a thread per this much work, at most
/// the pool's size. About 10-20 us of work, several times a wake-up's cost.
inline constexpr int64_t kMinWorkPerThread = 1 << 15;

/// How long a thread of the pool spins for the next loop (a worker) or for
/// the last workers to finish (the caller) before it sleeps.
inline constexpr std::chrono::microseconds kSpin{100};

/// The number of processors this process may run on.
int availableProcessors();

class ThreadPool {
public:
  /// A pool of `threads` threads in all: the caller and threads - 1 workers,
  /// started here and joined by the destructor.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int threads() const { return static_cast<int>(workers.size()) + 1; }

  /// Runs fn over [0, n) and returns when every iteration has run. `work`
  /// (estimated operations) bounds the threads used. Returns whether more
  /// than one thread took part. One caller at a time.
  bool parallelFor(ChunkFn fn, void *frame, int64_t n, int64_t work);

private:
  struct Job {
    Job(ChunkFn fn, void *frame, int64_t n, int64_t chunks)
        : fn(fn), frame(frame), n(n), chunks(chunks) {}
    ChunkFn fn;
    void *frame;
    int64_t n;
    int64_t chunks;
    /// The next chunk to claim.
    std::atomic<int64_t> next{0};
    /// Workers inside this job: joined under `mutex`, left without it.
    std::atomic<int> active{0};
  };
  static void runChunks(Job &job);
  /// Spins until `ready()` or kSpin has passed; returns whether it was ready.
  template <typename Pred> static bool spinUntil(Pred ready);
  void workerLoop();

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  Job *current = nullptr;
  /// Written under `mutex`; atomic because workers that spin before they
  /// sleep read them without it.
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stopping{false};
};

} // namespace dync::rt

#endif // DYNC_RUNTIME_THREADPOOL_H
