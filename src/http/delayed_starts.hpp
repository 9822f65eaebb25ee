#pragma once
// Work worth doing only for operations that last. An operation links an entry when it begins;
// the entry unlinks itself when the operation ends (it is destroyed). One per-worker timer runs
// the entries still linked `delay` after they were added. Nothing is armed or cancelled per
// operation: the timer ticks only while entries wait, once per `delay` at most.
#include <chrono>
#include <memory>

#include <boost/intrusive/list.hpp>

#include "http/asio_types.hpp"

namespace llmproxy {

class DelayedStarts {
public:
    using Clock = std::chrono::steady_clock;
    struct Entry : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
        Clock::time_point since;
        void (*start)(Entry&) = nullptr;  // runs once, on this worker's thread, after it is unlinked
    };

    DelayedStarts(Executor ex, std::chrono::milliseconds delay) : timer_(std::move(ex)), delay_(delay) {}
    ~DelayedStarts() { *alive_ = false; }
    DelayedStarts(const DelayedStarts&) = delete;
    DelayedStarts& operator=(const DelayedStarts&) = delete;

    /// Links `entry` (whose `start` is set); it runs after `delay` unless destroyed first.
    void Add(Entry& entry, Clock::time_point now);

private:
    Task<void> Tick(std::shared_ptr<bool> alive);

    using List = boost::intrusive::list<Entry, boost::intrusive::constant_time_size<false>>;
    List waiting_;  // oldest first (added in time order)
    Timer timer_;   // destroyed with this: a pending tick wakes, sees !alive, ends
    std::chrono::milliseconds delay_;
    bool ticking_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace llmproxy
