#pragma once
// Hands records from workers to one background thread that writes them in batches (one
// transaction per batch): the usage ledger and the request log. Workers never wait: each has
// its own lock-free queue; a full queue drops the record and counts it. A failed write (the
// database is down) is retried with the same batch, bounded in memory.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>
#include <spdlog/spdlog.h>

namespace llmproxy::core {

template <class Record>
class BatchedWriter {
public:
    using WriteBatch = std::function<void(const std::vector<Record>&)>;  // throws on failure

    BatchedWriter(std::string name, std::size_t workers, std::size_t queue_size, std::chrono::milliseconds interval,
                  WriteBatch write)
        : name_(std::move(name)), interval_(interval), write_(std::move(write)) {
        for (std::size_t i = 0; i < workers; ++i) {
            queues_.push_back(std::make_unique<boost::lockfree::spsc_queue<Record>>(queue_size));
        }
    }
    ~BatchedWriter() { Stop(); }

    void Start() {
        thread_ = std::thread([this] { Run(); });
    }

    /// Writes what is still queued, then returns.
    void Stop() {
        {
            std::lock_guard lock(mu_);
            if (stop_) return;
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    /// From worker `worker` only (one producer per queue).
    bool Enqueue(std::size_t worker, Record record) {
        if (!queues_[worker]->push(std::move(record))) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        return true;
    }

    std::uint64_t written() const { return written_.load(); }
    std::uint64_t dropped() const { return dropped_.load(); }
    std::uint64_t failures() const { return failures_.load(); }

private:
    static constexpr std::size_t kMaxPending = 100'000;  // kept in memory while writes fail

    void Run() {
        std::vector<Record> batch;
        bool stopping = false;
        while (!stopping) {
            {
                std::unique_lock lock(mu_);
                wake_.wait_for(lock, interval_, [&] { return stop_; });
                stopping = stop_;
            }
            for (auto& q : queues_) q->consume_all([&](Record& r) { batch.push_back(std::move(r)); });
            if (batch.empty()) continue;
            for (int attempt = 0; attempt < (stopping ? 3 : 1); ++attempt) {
                try {
                    write_(batch);
                    written_.fetch_add(batch.size(), std::memory_order_relaxed);
                    batch.clear();
                    break;
                } catch (const std::exception& e) {
                    failures_.fetch_add(1, std::memory_order_relaxed);
                    spdlog::warn("{}: writing {} records failed (kept for the next attempt): {}", name_, batch.size(),
                                 e.what());
                }
            }
            if (batch.size() > kMaxPending) {
                const std::size_t over = batch.size() - kMaxPending;
                batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(over));
                dropped_.fetch_add(over, std::memory_order_relaxed);
            }
        }
        if (!batch.empty()) spdlog::error("{}: {} records could not be written at shutdown", name_, batch.size());
    }

    std::string name_;
    std::chrono::milliseconds interval_;
    WriteBatch write_;
    std::vector<std::unique_ptr<boost::lockfree::spsc_queue<Record>>> queues_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
    std::atomic<std::uint64_t> written_{0}, dropped_{0}, failures_{0};
};

}  // namespace llmproxy::core
