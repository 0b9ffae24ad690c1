//===- ThreadPool.cpp - the threads a session runs parallel loops on ------===//

#include "ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <sched.h>
#include <unistd.h>

// helgrind does not model C++ atomics: the values threads spin on are
// atomics, which it would report as races, and the order a release and
// an acquire on one of them give is invisible to it. Its client requests
// (no-ops outside valgrind) exclude them from its checks and state that
// order where nothing else (a mutex) does.
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define DYNC_HG_ATOMIC(x) VALGRIND_HG_DISABLE_CHECKING(&(x), sizeof(x))
#define DYNC_HG_END_ATOMIC(x) VALGRIND_HG_ENABLE_CHECKING(&(x), sizeof(x))
#define DYNC_HG_BEFORE(x) ANNOTATE_HAPPENS_BEFORE(&(x))
#define DYNC_HG_AFTER(x) ANNOTATE_HAPPENS_AFTER(&(x))
#else
#define DYNC_HG_ATOMIC(x) ((void)0)
#define DYNC_HG_END_ATOMIC(x) ((void)0)
#define DYNC_HG_BEFORE(x) ((void)0)
#define DYNC_HG_AFTER(x) ((void)0)
#endif

namespace dync::rt {

int availableProcessors() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

ThreadPool::ThreadPool(int threads) {
  DYNC_HG_ATOMIC(generation);
  DYNC_HG_ATOMIC(stopping);
  for (int i = 1; i < threads; ++i)
    workers.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping.store(true, std::memory_order_release);
    wake.notify_all();
  }
  for (std::thread &t : workers)
    t.join();
}

template <typename Pred> bool ThreadPool::spinUntil(Pred ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 1;; ++i) {
    if (ready())
      return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline)
      return false;
  }
}

/// Claims chunks of `job` until none is left. Chunks are claimed with an
/// atomic counter, so a thread that is late or slow takes fewer of them.
void ThreadPool::runChunks(Job &job) {
  for (int64_t c; (c = job.next.fetch_add(1, std::memory_order_relaxed)) < job.chunks;)
    job.fn(job.frame, c * job.n / job.chunks, (c + 1) * job.n / job.chunks);
}

bool ThreadPool::parallelFor(ChunkFn fn, void *frame, int64_t n, int64_t work) {
  if (n <= 0)
    return false;
  int64_t useful = std::min<int64_t>({threads(), n, std::max<int64_t>(1, work / kMinWorkPerThread)});
  if (useful <= 1) {
    fn(frame, 0, n);
    return false;
  }
  // A few chunks per thread, so that a thread the OS delays holds up less.
  Job job(fn, frame, n, std::min<int64_t>(n, useful * 4));
  DYNC_HG_ATOMIC(job.active);
  {
    std::lock_guard<std::mutex> lock(mutex);
    current = &job;
    generation.fetch_add(1, std::memory_order_release);
    // Wake only as many workers as the loop is worth (under the lock, which
    // race detectors such as helgrind expect).
    for (int64_t i = 1; i < useful; ++i)
      wake.notify_one();
  }
  runChunks(job);
  // No worker joins after this; wait for those inside to leave, so that the
  // job (on this stack) and the frame outlive every use.
  {
    std::lock_guard<std::mutex> lock(mutex);
    current = nullptr;
  }
  // Workers still inside finish their chunks soon: spin before sleeping.
  if (!spinUntil([&] { return job.active.load(std::memory_order_acquire) == 0; })) {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return job.active.load(std::memory_order_acquire) == 0; });
  }
  // Every worker's last use of the job comes before this (the acquire of
  // active == 0), even when no mutex passed between them: the caller's
  // next frames may reuse the job's stack.
  DYNC_HG_AFTER(job.active);
  DYNC_HG_END_ATOMIC(job.active);
  return true;
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    // The next loop of a run usually follows within microseconds: wait for
    // it spinning a while before sleeping, so that it starts without the
    // wake-up of a sleeping thread.
    spinUntil([&] {
      return generation.load(std::memory_order_acquire) != seen ||
             stopping.load(std::memory_order_acquire);
    });
    Job *job;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stopping || (current && generation != seen); });
      if (stopping)
        return;
      seen = generation.load(std::memory_order_relaxed);
      job = current;
      ++job->active;
    }
    runChunks(*job);
    // The job is on the caller's stack: not touched after this.
    DYNC_HG_BEFORE(job->active);
    if (job->active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex);
      done.notify_all();
    }
  }
}

} // namespace dync::rt
