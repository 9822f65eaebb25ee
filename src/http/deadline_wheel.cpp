#include "http/deadline_wheel.hpp"

#include <algorithm>

namespace llmproxy {

DeadlineWheel::DeadlineWheel(boost::asio::io_context& context)
    : boost::asio::execution_context::service(context), context_(context) {}

DeadlineWheel::~DeadlineWheel() {
    for (auto& slot : slots_) slot.clear();
}

void DeadlineWheel::shutdown() {
    // Streams still alive unlink themselves as their coroutines are destroyed; the timer goes
    // now, while the timer service it belongs to is still there.
    timer_.reset();
    ticking_ = false;
}

std::uint64_t DeadlineWheel::TickOf(Clock::time_point t) {
    return static_cast<std::uint64_t>(t.time_since_epoch() / kTick);
}

void DeadlineWheel::File(Entry& entry) {
    // Never before the next tick: the slot of a tick already visited would wait a whole turn.
    const std::uint64_t tick = std::max(TickOf(entry.deadline) + 1, done_tick_ + 1);
    if (entry.is_linked()) {
        if (entry.filed_tick <= tick) return;  // filed earlier: it is looked at again then
        Drop(entry);
    }
    if (filed_ == 0 && !ticking_) done_tick_ = std::max(done_tick_, TickOf(Clock::now()));
    entry.filed_tick = std::max(tick, done_tick_ + 1);
    slots_[entry.filed_tick % kSlots].push_back(entry);
    ++filed_;
    StartTicking();
}

void DeadlineWheel::Drop(Entry& entry) noexcept {
    if (!entry.is_linked()) return;
    slots_[entry.filed_tick % kSlots].erase(List::s_iterator_to(entry));
    --filed_;
}

void DeadlineWheel::StartTicking() {
    if (ticking_) return;
    if (!timer_) timer_.emplace(context_);
    ticking_ = true;
    timer_->expires_at(Clock::time_point(kTick * static_cast<Clock::rep>(done_tick_ + 1)));
    timer_->async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;  // shut down
        ticking_ = false;
        OnTick();
    });
}

void DeadlineWheel::OnTick() {
    const auto now = Clock::now();
    const std::uint64_t now_tick = TickOf(now);
    // After a long stall every slot is due at most once: each is visited for all its ticks.
    const std::uint64_t first = now_tick - done_tick_ > kSlots ? now_tick - kSlots + 1 : done_tick_ + 1;
    for (std::uint64_t t = first; t <= now_tick; ++t) Visit(slots_[t % kSlots], now_tick, now);
    done_tick_ = std::max(done_tick_, now_tick);
    if (filed_ > 0) StartTicking();
}

void DeadlineWheel::Visit(List& slot, std::uint64_t upto, Clock::time_point now) {
    for (auto it = slot.begin(); it != slot.end();) {
        Entry& entry = *it;
        if (entry.filed_tick > upto) {  // a later turn
            ++it;
            continue;
        }
        it = slot.erase(it);
        --filed_;
        if (entry.deadline == Clock::time_point::max()) continue;  // no deadline any more
        if (entry.deadline > now) {
            // Moved later since it was filed: filed again, at its deadline.
            const std::uint64_t tick = std::max(TickOf(entry.deadline) + 1, upto + 1);
            entry.filed_tick = tick;
            slots_[tick % kSlots].push_back(entry);
            ++filed_;
            continue;
        }
        entry.expire(entry);
    }
}

}  // namespace llmproxy
