// Open-loop load at a fixed rate (what wrk2 does; it is not a Debian package): request i is due
// at start + i/rate whatever happened to the ones before, and its latency counts from when it
// was due, not from when a connection got round to sending it. A stall then shows in the
// percentiles instead of slowing the load down (no coordinated omission).
//
//   rate_load --port P --rate R --seconds S [--connections C] [--path /v1/chat/completions]
//             [--body-file F] [--header "Authorization: Bearer k"] [--warmup-seconds 1]
//
// Prints one JSON line: the rate asked and achieved, the count, errors, and latency
// percentiles in microseconds over the requests due after the warm-up. Asked for more than the
// target can carry, it measures the target's saturating rate as this client sees it
// ("achieved"; no request starts after the run's time).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    unsigned short port = 0;
    double rate = 1000;
    double seconds = 5;
    double warmup_seconds = 1;
    int connections = 64;
    std::string path = "/v1/chat/completions";
    std::string body = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";
    std::vector<std::string> headers;
};

struct Shared {
    Clock::time_point start;
    Clock::time_point end;  // no request is started after it (a rate above capacity: the run still ends)
    std::chrono::nanoseconds interval{};
    std::uint64_t next = 0;    // the next request due
    std::uint64_t total = 0;   // requests in the run
    std::uint64_t warmup = 0;  // the first ones, not counted
    std::uint64_t errors = 0;
    std::uint64_t completed = 0;  // answers read, warm-up included
    std::vector<std::uint32_t> latencies_us;
    Clock::time_point last_done;
};

std::string BuildRequest(const Options& o) {
    std::string r = "POST " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    for (const auto& h : o.headers) r += h + "\r\n";
    r += "Content-Length: " + std::to_string(o.body.size()) + "\r\n\r\n" + o.body;
    return r;
}

// One connection: takes the next request due, waits for its time, sends it, reads the answer.
asio::awaitable<void> Connection(Shared& shared, tcp::endpoint endpoint, const std::string& request) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket socket(ex);
    beast::flat_buffer buffer;
    asio::steady_timer timer(ex);
    for (;;) {
        const std::uint64_t i = shared.next++;
        if (i >= shared.total || Clock::now() >= shared.end) co_return;
        const Clock::time_point due = shared.start + shared.interval * i;
        if (due > Clock::now()) {
            timer.expires_at(due);
            co_await timer.async_wait(asio::use_awaitable);
        }
        try {
            if (!socket.is_open()) {
                buffer.clear();
                co_await socket.async_connect(endpoint, asio::use_awaitable);
                socket.set_option(tcp::no_delay(true));
            }
            co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
            http::response_parser<http::string_body> parser;
            parser.body_limit(16u << 20);
            co_await http::async_read(socket, buffer, parser, asio::use_awaitable);
            const auto now = Clock::now();
            if (parser.get().result_int() != 200) ++shared.errors;
            if (!parser.get().keep_alive()) socket.close();
            ++shared.completed;
            if (i >= shared.warmup) {
                const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - due).count();
                shared.latencies_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
            }
            shared.last_done = now;
        } catch (const std::exception&) {
            ++shared.errors;
            boost::system::error_code ignored;
            socket.close(ignored);
        }
    }
}

double Percentile(std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(k, sorted.size() - 1)];
}

bool Parse(int argc, char** argv, Options& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--port") {
            o.port = static_cast<unsigned short>(std::stoi(v));
        } else if (k == "--rate") {
            o.rate = std::stod(v);
        } else if (k == "--seconds") {
            o.seconds = std::stod(v);
        } else if (k == "--warmup-seconds") {
            o.warmup_seconds = std::stod(v);
        } else if (k == "--connections") {
            o.connections = std::stoi(v);
        } else if (k == "--path") {
            o.path = v;
        } else if (k == "--header") {
            o.headers.push_back(v);
        } else if (k == "--body-file") {
            std::ifstream f(v, std::ios::binary);
            std::ostringstream s;
            s << f.rdbuf();
            o.body = s.str();
        } else {
            return false;
        }
    }
    return o.port != 0 && o.rate > 0 && o.seconds > 0 && o.connections > 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!Parse(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: rate_load --port P --rate R --seconds S [--connections C] [--path P] "
                     "[--body-file F] [--header H] [--warmup-seconds W]\n");
        return 2;
    }
    asio::io_context ioc(1);
    Shared shared;
    shared.interval = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / o.rate));
    shared.total = static_cast<std::uint64_t>(o.rate * (o.seconds + o.warmup_seconds));
    shared.warmup = static_cast<std::uint64_t>(o.rate * o.warmup_seconds);
    shared.latencies_us.reserve(std::min<std::uint64_t>(shared.total, 50'000'000));
    shared.start = Clock::now() + std::chrono::milliseconds(50);
    shared.end = shared.start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.seconds + o.warmup_seconds));
    const std::string request = BuildRequest(o);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), o.port);
    for (int c = 0; c < o.connections; ++c) asio::co_spawn(ioc, Connection(shared, endpoint, request), asio::detached);
    // Bounded: a target that stops answering cannot hold the run past twice its length.
    const auto limit = std::chrono::duration<double>(2 * (o.seconds + o.warmup_seconds) + 5);
    ioc.run_for(std::chrono::duration_cast<std::chrono::nanoseconds>(limit));
    auto& l = shared.latencies_us;
    const double elapsed = std::chrono::duration<double>(shared.last_done - shared.start).count();
    const std::uint64_t started = std::min(shared.next, shared.total);
    std::sort(l.begin(), l.end());
    std::printf(
        "{\"rate\": %.0f, \"achieved\": %.0f, \"count\": %zu, \"errors\": %llu, \"unfinished\": %llu, "
        "\"p50_us\": %.0f, \"p90_us\": %.0f, \"p99_us\": %.0f, \"p999_us\": %.0f, \"max_us\": %.0f}\n",
        o.rate, elapsed > 0 ? static_cast<double>(shared.completed) / elapsed : 0.0, l.size(),
        static_cast<unsigned long long>(shared.errors),
        static_cast<unsigned long long>(started - std::min(started, shared.completed + shared.errors)),
        Percentile(l, 50), Percentile(l, 90), Percentile(l, 99), Percentile(l, 99.9),
        l.empty() ? 0.0 : static_cast<double>(l.back()));
    return 0;
}
