#include "http/delayed_starts.hpp"

namespace llmproxy {

void DelayedStarts::Add(Entry& entry, Clock::time_point now) {
    entry.since = now;
    waiting_.push_back(entry);
    if (!ticking_) {
        ticking_ = true;
        asio::co_spawn(timer_.get_executor(), Tick(alive_), asio::detached);
    }
}

Task<void> DelayedStarts::Tick(std::shared_ptr<bool> alive) {
    while (!waiting_.empty()) {
        timer_.expires_at(waiting_.front().since + delay_);
        co_await timer_.async_wait(kNoThrow);
        if (!*alive) co_return;  // destroyed: touch nothing
        const auto now = Clock::now();
        while (!waiting_.empty() && waiting_.front().since + delay_ <= now) {
            Entry& due = waiting_.front();
            waiting_.pop_front();
            due.start(due);
        }
    }
    ticking_ = false;
}

}  // namespace llmproxy
