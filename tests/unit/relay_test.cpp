// The relay over real sockets on 127.0.0.1 (an upstream and a client in the test, one
// io_context): with no observers the body reaches the client byte for byte, whatever its
// framing; with the OpenAI usage reader the usage chunk the gateway asked for is removed and
// the usage is read.
#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "core/config.hpp"
#include "providers/openai/usage_observer.hpp"
#include "stages/forward/relay.hpp"

using namespace llmproxy;

namespace {

// Undoes chunked transfer coding (the relay writes streams chunked).
std::string Dechunk(std::string_view body) {
    std::string out;
    while (!body.empty()) {
        const auto eol = body.find("\r\n");
        const std::size_t size = std::stoul(std::string(body.substr(0, eol)), nullptr, 16);
        if (size == 0) break;
        out.append(body.substr(eol + 2, size));
        body.remove_prefix(eol + 2 + size + 2);
    }
    return out;
}

struct RelayRun {
    std::string client_bytes;  // everything the client received
    stages::ForwardOutcome outcome;
};

// One exchange: the upstream answers `response` (written in `pieces` separate writes), the
// relay forwards it to a client connection with `observers`.
RelayRun Relay(const std::string& response, std::size_t pieces, std::span<stages::ResponseObserver* const> observers) {
    asio::io_context ioc;
    Acceptor upstream_listener(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Acceptor client_listener(ioc.get_executor(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto loaded = core::LoadConfigString("providers: [ { name: up, base_url: 'http://127.0.0.1:" +
                                             std::to_string(upstream_listener.local_endpoint().port()) + "/v1' } ]\n",
                                         "t.yaml");
    EXPECT_TRUE(loaded.errors.empty());
    std::shared_ptr<const core::Config> config = loaded.config;
    const core::ProviderConfig& provider = config->providers[0];
    RelayRun run;

    // The upstream: reads the request head, answers in pieces, closes.
    asio::co_spawn(
        ioc,
        [&]() -> Task<void> {
            auto [ec, s] = co_await upstream_listener.async_accept(kNoThrow);
            beast::flat_buffer buf;
            http::request<http::string_body> req;
            auto [rec, rn] = co_await http::async_read(s, buf, req, kNoThrow);
            const std::size_t step = (response.size() + pieces - 1) / pieces;
            for (std::size_t at = 0; at < response.size(); at += step) {
                auto [wec, wn] = co_await asio::async_write(
                    s, asio::buffer(response.data() + at, std::min(step, response.size() - at)), kNoThrow);
                Timer pause(s.get_executor(), std::chrono::milliseconds(2));  // separate reads on the relay side
                co_await pause.async_wait(kNoThrow);
            }
            error_code ignored;
            s.shutdown(Socket::shutdown_send, ignored);
        },
        asio::detached);
    // The client: reads until the relay closes its side.
    asio::co_spawn(
        ioc,
        [&]() -> Task<void> {
            Socket s(ioc.get_executor());
            co_await s.async_connect(client_listener.local_endpoint(), kNoThrow);
            char buf[4096];
            for (;;) {
                auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
                if (ec) break;
                run.client_bytes.append(buf, n);
            }
        },
        asio::detached);
    // The relay, on the accepted client connection.
    asio::co_spawn(
        ioc,
        [&]() -> Task<void> {
            auto [ec, accepted] = co_await client_listener.async_accept(kNoThrow);
            TcpStream client(std::move(accepted));
            beast::flat_buffer client_buffer;
            ClientRequest head{http::verb::post, "/v1/chat/completions", 11};
            head.set(http::field::host, "gw");
            head.keep_alive(false);
            upstream::UpstreamPool pool(ioc.get_executor(), config, provider, nullptr, 4);
            const std::string body = R"({"model":"m","stream":true,"messages":[]})";
            providers::ResponseChain chain;
            for (auto* o : observers) chain.AddForAttempt(*o);
            const stages::ForwardInput in{.provider = provider,
                                          .adapter = providers::AdapterFor(provider),
                                          .request = head,
                                          .body = body,
                                          .upstream_target = "/v1/chat/completions",
                                          .request_id = "req-1",
                                          .client_write_timeout = std::chrono::seconds(5),
                                          .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5),
                                          .hold_statuses = {},
                                          .extra_response_headers = {},
                                          .traceparent = {},
                                          .chain = chain};
            run.outcome = co_await stages::Forward(client, client_buffer, in, pool);
            error_code ignored;
            client.socket().shutdown(Socket::shutdown_send, ignored);
        },
        asio::detached);
    ioc.run_for(std::chrono::seconds(10));
    return run;
}

std::string SseResponse(std::string_view events) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + [&] {
        std::string chunked;
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", events.size());
        chunked += size;
        chunked.append(events);
        chunked += "\r\n0\r\n\r\n";
        return chunked;
    }();
}

std::string BodyOf(const std::string& http) {
    return http.substr(http.find("\r\n\r\n") + 4);
}

}  // namespace

TEST(Relay, WithoutObserversTheStreamPassesByteForByte) {
    // Odd but valid SSE: CRLF and CR line ends, comments, a multi-line data field, UTF-8 split
    // across the upstream's writes, and a last event without its blank line.
    const std::string events = std::string("data: {\"a\":\"h\xC3\xA9llo\"}\r\n\r\n: keep-alive\n\n") +
                               "event: x\rdata: one\rdata: two\r\r" + "data: " + std::string(3000, 'z') + "\n\n" +
                               "data: [DONE]";
    for (std::size_t pieces : {1u, 7u, 61u}) {
        RelayRun run = Relay(SseResponse(events), pieces, {});
        ASSERT_TRUE(run.outcome.response_started) << pieces;
        EXPECT_EQ(run.outcome.status, 200u);
        EXPECT_EQ(Dechunk(BodyOf(run.client_bytes)), events) << "pieces " << pieces;
    }
}

TEST(Relay, ContentLengthBodiesPassByteForByte) {
    const std::string json = R"({"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"total_tokens":3}})";
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
        "\r\n\r\n" + json;
    RelayRun run = Relay(response, 5, {});
    EXPECT_EQ(BodyOf(run.client_bytes), json);
    EXPECT_NE(run.client_bytes.find("Content-Length: " + std::to_string(json.size())), std::string::npos);
}

TEST(Relay, NullUsageChunksAreNotParsedButUsageAnywhereElseIsRead) {
    // Not stripping (the client asked for usage itself): events pass as they are.
    const std::string null_usage = "data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}],\"usage\":null}\n\n";
    const std::string moonshot =
        "data: {\"choices\":[{\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,"
        "\"total_tokens\":6}}],\"usage\":null}\n\n";
    const std::string events = null_usage + null_usage + moonshot + "data: [DONE]\n\n";
    providers::openai::UsageObserver usage(/*strip_injected_usage=*/false);
    stages::ResponseObserver* observers[] = {&usage};
    RelayRun run = Relay(SseResponse(events), 3, observers);
    EXPECT_EQ(Dechunk(BodyOf(run.client_bytes)), events);
    ASSERT_TRUE(usage.usage().has_value());  // usage inside the choice, beside a top-level null
    EXPECT_EQ(usage.usage()->total_tokens, 6);
}

TEST(Relay, TheUsageReaderStripsTheInjectedUsageChunk) {
    const std::string content = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
    const std::string usage_chunk =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8}}\n\n";
    const std::string events = content + content + usage_chunk + "data: [DONE]\n\n";
    providers::openai::UsageObserver usage(/*strip_injected_usage=*/true);
    stages::ResponseObserver* observers[] = {&usage};
    RelayRun run = Relay(SseResponse(events), 3, observers);
    const std::string relayed = Dechunk(BodyOf(run.client_bytes));
    const std::string clean = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
    EXPECT_EQ(relayed, clean + clean + "data: [DONE]\n\n");
    ASSERT_TRUE(usage.usage().has_value());
    EXPECT_EQ(usage.usage()->total_tokens, 8);
}

// Usage named only by Ollama's eval_count (no "usage" member) is read from whichever event of a
// block carries it, after events whose "usage":null members are still stripped; an "_" that is
// not eval_count's (finish_reason) is passed over.
TEST(UsageObserver, FindsEvalCountAfterNullUsageEvents) {
    providers::openai::UsageObserver observer(/*strip_injected_usage=*/true);
    providers::ResponseHead head;
    observer.OnHead(head);
    const std::string block =
        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"!\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: {\"model\":\"llama3\",\"done\":true,\"prompt_eval_count\":26,\"eval_count\":290}\n\n";
    const std::string relayed(observer.OnEvents(block));
    EXPECT_EQ(relayed.find("usage"), std::string::npos) << relayed;
    EXPECT_NE(relayed.find("\"eval_count\":290"), std::string::npos) << relayed;
    observer.OnEnd(true);
    ASSERT_TRUE(observer.usage());
    EXPECT_EQ(observer.usage()->prompt_tokens, 26);
    EXPECT_EQ(observer.usage()->completion_tokens, 290);
}
