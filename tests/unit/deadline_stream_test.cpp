// The stream deadline kept by the io_context's wheel, over real sockets on 127.0.0.1: a read
// past its deadline ends with a timeout (not much later than the deadline), a deadline moved
// while the read waits is the one that counts, no deadline means no timeout, a deadline that
// passed between operations fails the next one, and an io_context with nothing pending still
// stops (the wheel does not keep it running). WriteAll delivers every byte whether or not the
// socket takes them at once.
#include <gtest/gtest.h>

#include <chrono>

#include <boost/asio/read.hpp>

#include "http/write_all.hpp"

using namespace llmproxy;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A connected pair: `server` (a DeadlineStream) and the peer's raw socket.
struct Pair {
    asio::io_context ioc;
    Socket peer{ioc.get_executor()};
    std::unique_ptr<TcpStream> server;

    Pair() {
        Acceptor listener(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        peer.connect(listener.local_endpoint());
        server = std::make_unique<TcpStream>(listener.accept());
    }
};

struct ReadResult {
    error_code ec;
    std::size_t n = 0;
    Clock::duration took{};
};

// Runs one read on the server side; `during` runs alongside it (e.g. moving the deadline).
ReadResult ReadOnce(Pair& p, std::function<Task<void>()> during = {}) {
    ReadResult r;
    char buf[16];
    const auto start = Clock::now();
    asio::co_spawn(
        p.ioc,
        [&]() -> Task<void> {
            std::tie(r.ec, r.n) = co_await p.server->async_read_some(asio::buffer(buf), kNoThrow);
            r.took = Clock::now() - start;
        },
        asio::detached);
    if (during) asio::co_spawn(p.ioc, during(), asio::detached);
    p.ioc.run_for(5s);
    p.ioc.restart();
    return r;
}

Task<void> Sleep(std::chrono::milliseconds d) {
    Timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(kNoThrow);
}

TEST(DeadlineStream, ReadPastItsDeadlineTimesOut) {
    Pair p;
    p.server->expires_after(100ms);
    const ReadResult r = ReadOnce(p);
    EXPECT_EQ(r.ec, beast::error::timeout);
    EXPECT_GE(r.took, 100ms);
    // Not much later: a tick or two, and whatever a busy CI machine adds (ASan, parallel suites).
    EXPECT_LT(r.took, 100ms + 2 * DeadlineWheel::kTick + 400ms);
    EXPECT_TRUE(p.server->socket().is_open()) << "cancelled, not closed: a 408 can still be written";
}

TEST(DeadlineStream, NoDeadlineNoTimeout) {
    Pair p;
    p.server->expires_never();
    const ReadResult r = ReadOnce(p, [&]() -> Task<void> {
        co_await Sleep(150ms);
        co_await asio::async_write(p.peer, asio::buffer("hi", 2), kNoThrow);
    });
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.n, 2u);
    EXPECT_GE(r.took, 150ms);
}

TEST(DeadlineStream, DeadlineMovedLaterWhileReading) {
    Pair p;
    p.server->expires_after(60ms);
    const ReadResult r = ReadOnce(p, [&]() -> Task<void> {
        co_await Sleep(20ms);
        p.server->expires_after(300ms);  // a new deadline, as a relay sets per write
        co_await Sleep(100ms);           // past the first deadline
        co_await asio::async_write(p.peer, asio::buffer("x", 1), kNoThrow);
    });
    EXPECT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.n, 1u);
}

TEST(DeadlineStream, DeadlineMovedEarlierWhileReading) {
    Pair p;
    p.server->expires_after(10s);
    const ReadResult r = ReadOnce(p, [&]() -> Task<void> {
        co_await Sleep(20ms);
        p.server->expires_after(50ms);
    });
    EXPECT_EQ(r.ec, beast::error::timeout);
    EXPECT_LT(r.took, 1s);
}

TEST(DeadlineStream, DeadlinePassedBetweenOperationsFailsTheNext) {
    Pair p;
    p.server->expires_after(30ms);
    std::this_thread::sleep_for(60ms);  // nothing pending when it passes
    const ReadResult r = ReadOnce(p);
    EXPECT_EQ(r.ec, beast::error::timeout);
    EXPECT_LT(r.took, 1s);
    // A new deadline clears it.
    p.server->expires_after(2s);
    const ReadResult again =
        ReadOnce(p, [&]() -> Task<void> { co_await asio::async_write(p.peer, asio::buffer("ok", 2), kNoThrow); });
    EXPECT_FALSE(again.ec) << again.ec.message();
}

TEST(DeadlineStream, IdleContextStops) {
    Pair p;
    p.server->expires_after(10s);  // armed, but nothing pending once the read is done
    asio::co_spawn(p.ioc, asio::async_write(p.peer, asio::buffer("z", 1), kNoThrow), asio::detached);
    char c;
    error_code ec;
    asio::co_spawn(
        p.ioc,
        [&]() -> Task<void> {
            std::tie(ec, std::ignore) = co_await p.server->async_read_some(asio::buffer(&c, 1), kNoThrow);
        },
        asio::detached);
    const auto start = Clock::now();
    p.ioc.run();  // returns once both are done, not when the 10 s deadline would have passed
    EXPECT_FALSE(ec);
    EXPECT_LT(Clock::now() - start, 2s);
}

TEST(DeadlineStream, WriteAllDeliversEverything) {
    Pair p;
    // Larger than a loopback socket's send buffer: part goes at once, the rest waits for the peer.
    std::string big(8u << 20, 'a');
    for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
    std::string received(big.size(), '\0');
    error_code wec, rec;
    p.server->expires_after(10s);
    asio::co_spawn(
        p.ioc,
        [&]() -> Task<void> {
            std::array<asio::const_buffer, 2> bufs{asio::buffer(big.data(), 100),
                                                   asio::buffer(big.data() + 100, big.size() - 100)};
            wec = co_await WriteAll(*p.server, bufs);
        },
        asio::detached);
    asio::co_spawn(
        p.ioc,
        [&]() -> Task<void> {
            std::tie(rec, std::ignore) = co_await asio::async_read(p.peer, asio::buffer(received), kNoThrow);
        },
        asio::detached);
    p.ioc.run_for(20s);
    EXPECT_FALSE(wec) << wec.message();
    EXPECT_FALSE(rec) << rec.message();
    EXPECT_TRUE(received == big);
}

}  // namespace
