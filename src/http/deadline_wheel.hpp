#pragma once
// One timer per io_context for every stream deadline on it: a wheel of intrusive lists that a
// 10 ms tick walks. Arming, extending and dropping a deadline are a few pointer writes (no timer
// heap, no handler posted and cancelled around each read and write, as a timer per operation
// costs). A deadline fires up to one tick late, which is what timeouts counted in seconds allow.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

namespace llmproxy {

class DeadlineWheel : public boost::asio::execution_context::service {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr Clock::duration kTick = std::chrono::milliseconds(10);
    static constexpr std::size_t kSlots = 1024;  // ~10 s a turn; longer deadlines wait out turns

    /// What a stream files: its own deadline (which may move later without refiling: the wheel
    /// looks again when the filed tick comes) and what to do when it passes.
    struct Entry : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::safe_link>> {
        Clock::time_point deadline = Clock::time_point::max();
        std::uint64_t filed_tick = 0;
        void (*expire)(Entry&) = nullptr;
    };

    static inline boost::asio::execution_context::id id;

    explicit DeadlineWheel(boost::asio::io_context& context);
    ~DeadlineWheel() override;

    /// Files `entry` at its deadline, unless it is already filed no later than that.
    void File(Entry& entry);
    void Drop(Entry& entry) noexcept;

private:
    using List = boost::intrusive::list<Entry, boost::intrusive::constant_time_size<false>>;

    void shutdown() override;
    static std::uint64_t TickOf(Clock::time_point t);
    void StartTicking();
    void OnTick();
    void Visit(List& slot, std::uint64_t upto, Clock::time_point now);

    boost::asio::io_context& context_;
    std::optional<boost::asio::steady_timer> timer_;
    std::array<List, kSlots> slots_;
    std::size_t filed_ = 0;
    std::uint64_t done_tick_ = 0;  // every slot up to this tick has been visited
    bool ticking_ = false;
};

}  // namespace llmproxy
