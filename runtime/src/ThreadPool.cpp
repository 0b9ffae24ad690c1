//===- ThreadPool.cpp - the threads a session runs parallel loops on ------===//

#include "ThreadPool.h"

#include <algorithm>
#include <sched.h>
#include <unistd.h>

namespace dync::rt {

int availableProcessors() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(online) : 1;
}

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i)
    workers.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
    wake.notify_all();
  }
  for (std::thread &t : workers)
    t.join();
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
  {
    std::lock_guard<std::mutex> lock(mutex);
    current = &job;
    ++generation;
    // Wake only as many workers as the loop is worth (under the lock, which
    // race detectors such as helgrind expect).
    for (int64_t i = 1; i < useful; ++i)
      wake.notify_one();
  }
  runChunks(job);
  // No worker joins after this; wait for those inside to leave, so that the
  // job (on this stack) and the frame outlive every use.
  std::unique_lock<std::mutex> lock(mutex);
  current = nullptr;
  done.wait(lock, [&] { return job.active == 0; });
  return true;
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    Job *job;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stopping || (current && generation != seen); });
      if (stopping)
        return;
      seen = generation;
      job = current;
      ++job->active;
    }
    runChunks(*job);
    std::lock_guard<std::mutex> lock(mutex);
    if (--job->active == 0)
      done.notify_all();
  }
}

} // namespace dync::rt
