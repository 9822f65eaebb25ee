#include "pipeline/provider_probe.hpp"

#include "http/upstream_connection.hpp"
#include "http/wire.hpp"
#include "providers/adapter.hpp"

namespace llmproxy::pipeline {

using proxy::ProbeResult;

Task<bool> CheckProvider(const Snapshot& snapshot, std::size_t provider, std::string& why) {
    const auto& p = snapshot.config->providers[provider];
    const auto& hc = p.health_check;
    auto ex = co_await asio::this_coro::executor;
    Resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(p.host, p.port, kNoThrow);
    if (rec) {
        why = "health check: cannot resolve host: " + rec.message();
        co_return false;
    }
    std::vector<tcp::endpoint> endpoints(results.begin(), results.end());
    auto conn = std::make_shared<upstream::UpstreamConnection>(ex, snapshot.tls[provider].get());
    error_code ec = co_await conn->Connect(endpoints, p, hc.timeout);
    std::string head;
    if (!ec) {
        head = "GET " + hc.path + " HTTP/1.1\r\n";
        wire::AppendHeader(head, "Host", p.host_header);
        wire::AppendHeader(head, "User-Agent", "llm-proxy-health-check");
        providers::AdapterFor(p).AppendAuthHeaders(p, head);
        head += "Connection: close\r\n\r\n";
        const std::array<asio::const_buffer, 2> bytes{asio::buffer(head), asio::const_buffer()};
        ec = co_await conn->Write(bytes, hc.timeout);
    }
    upstream::ResponseParser parser;
    if (!ec) ec = co_await conn->ReadHeader(parser, hc.timeout);
    conn->Close();
    if (ec) {
        why = "health check failed: " + ec.message();
        co_return false;
    }
    unsigned status = parser.get().result_int();
    if (status / 100 != 2) {
        why = "health check answered " + std::to_string(status);
        co_return false;
    }
    co_return true;
}

Task<std::vector<ProbeResult>> ProbeAllProviders(std::shared_ptr<const Snapshot> snapshot) {
    // Shared with the probe coroutines, which may outlive this one if they overrun the budget.
    struct State {
        explicit State(Executor ex, std::size_t n) : results(n), all_done(ex) {
            all_done.expires_at(Timer::time_point::max());
        }
        std::vector<ProbeResult> results;
        std::size_t running = 0;
        Timer all_done;
    };
    auto ex = co_await asio::this_coro::executor;
    const std::size_t n = snapshot->config->providers.size();
    auto state = std::make_shared<State>(ex, n);
    const auto give_up = std::chrono::steady_clock::now() + kProbeBudget;
    for (std::size_t first = 0; first < n && std::chrono::steady_clock::now() < give_up; first += kProbeConcurrency) {
        const std::size_t last = std::min(n, first + kProbeConcurrency);
        state->running = last - first;
        state->all_done.expires_at(give_up);
        for (std::size_t i = first; i < last; ++i) {
            asio::co_spawn(
                ex,
                [](std::shared_ptr<const Snapshot> snap, std::shared_ptr<State> st, std::size_t i) -> Task<void> {
                    auto t0 = std::chrono::steady_clock::now();
                    std::string why;
                    bool ok = co_await CheckProvider(*snap, i, why);
                    auto& r = st->results[i];
                    r.done = true;
                    r.ok = ok;
                    r.error = why;
                    r.latency_ms =
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                    if (--st->running == 0) st->all_done.cancel();
                }(snapshot, state, i),
                asio::detached);
        }
        co_await state->all_done.async_wait(kNoThrow);
    }
    co_return state->results;
}

}  // namespace llmproxy::pipeline
