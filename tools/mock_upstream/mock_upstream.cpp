// mock_upstream: a fast, controllable fake OpenAI-compatible model server for tests, the demo
// and benchmarks. Behaviour is chosen per request with x-mock-* headers (which the gateway
// forwards), or per process with flags:
//
//   x-mock-fault: 500 | 429 | reset | reset_mid_stream | hang
//   x-mock-chunks: N               stream chunks (default 5)
//   x-mock-chunk-delay-ms: MS      delay between stream chunks
//   x-mock-first-byte-delay-ms: MS delay before the response head
//   x-mock-retry-after: S          Retry-After for fault 429 (default 1)
//   x-mock-reset-after: K          chunks sent before reset_mid_stream (default 2)
//   x-mock-no-usage: 1             report no usage (like servers that never do)
//   x-mock-thinking: 1             reasoning before the answer (reasoning_content, thinking block)
//   x-mock-cache-read: N           N prompt tokens read from the cache (cached_tokens)
//   x-mock-vendor: NAME            answer with that vendor's quirks (vendor.cpp: moonshot, deepseek,
//                                  gemini, ollama, tgi, zhipu, vllm, openrouter)
//
// Introspection: GET /mock/stats, GET /mock/last (the last request as received), POST /mock/reset.
#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <iostream>
#include <mutex>
#include <sys/socket.h>
#include <thread>

#include "mock.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace mock {

Options g_opt;
Stats g_stats;

std::string Header(const http::request<http::string_body>& req, const char* name, std::string def) {
    auto it = req.find(name);
    return it == req.end() ? def : std::string(it->value());
}

int HeaderInt(const http::request<http::string_body>& req, const char* name, int def) {
    auto v = Header(req, name);
    if (v.empty()) return def;
    try {
        return std::stoi(v);
    } catch (...) {
        return def;
    }
}

std::string Head(int status, std::string_view reason, std::string_view ctype, std::string extra, std::size_t length,
                 bool chunked) {
    std::string h = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
    h += "Content-Type: " + std::string(ctype) + "\r\n";
    h += "x-mock-name: " + g_opt.name + "\r\n";
    h += "x-request-id: mock-" + std::to_string(g_stats.requests.load()) + "\r\n";
    h += extra;
    if (chunked)
        h += "Transfer-Encoding: chunked\r\n";
    else
        h += "Content-Length: " + std::to_string(length) + "\r\n";
    h += "\r\n";
    return h;
}

asio::awaitable<bool> Send(tcp::socket& s, std::string data) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(data), kNoThrow);
    co_return !ec;
}

asio::awaitable<void> Sleep(int ms) {
    if (ms <= 0) co_return;
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    co_await t.async_wait(kNoThrow);
}

bool PeerClosed(tcp::socket& s) {
    char b;
    ssize_t r = ::recv(s.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

void Reset(tcp::socket& s) {
    error_code ec;
    s.set_option(asio::socket_base::linger(true, 0), ec);  // RST instead of FIN
    s.close(ec);
}

std::string Chunk(std::string_view data) {
    char size[32];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return std::string(size, n) + std::string(data) + "\r\n";
}

int PromptTokens(const json::object& body) {
    std::size_t bytes = 0;
    if (auto* m = body.if_contains("messages")) bytes += json::serialize(*m).size();
    if (auto* p = body.if_contains("prompt")) bytes += json::serialize(*p).size();
    if (auto* i = body.if_contains("input")) bytes += json::serialize(*i).size();
    return static_cast<int>(std::max<std::size_t>(1, bytes / 4));
}

std::string Word(int i) {
    return i == 0 ? "Hello" : " tok" + std::to_string(i);
}

json::object Usage(int prompt, int completion) {
    return {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
}

json::object ChatUsage(const http::request<http::string_body>& req, int prompt, int completion) {
    json::object usage = Usage(prompt, completion);
    if (int cached = HeaderInt(req, "x-mock-cache-read", 0); cached > 0) {
        if (Header(req, "x-mock-vendor") == "deepseek") {
            usage["prompt_cache_hit_tokens"] = cached;
            usage["prompt_cache_miss_tokens"] = prompt - cached;
        } else {
            usage["prompt_tokens_details"] = {{"cached_tokens", cached}};
        }
    }
    if (HeaderInt(req, "x-mock-thinking", 0) == 1) usage["completion_tokens_details"] = {{"reasoning_tokens", 2}};
    return usage;
}

}  // namespace mock

namespace {

using namespace mock;

void RecordLast(const http::request<http::string_body>& req) {
    json::object headers;
    for (const auto& f : req) headers[std::string(f.name_string())] = std::string(f.value());
    json::object last{{"method", std::string(req.method_string())},
                      {"target", std::string(req.target())},
                      {"headers", headers},
                      {"body", req.body()}};
    std::lock_guard lock(g_stats.mu);
    g_stats.last_request = json::serialize(last);
}

// Returns false when the connection must close.
asio::awaitable<bool> Stream(tcp::socket& s, const http::request<http::string_body>& req, const json::object& body,
                             bool chat) {
    const std::string model = body.contains("model") ? std::string(body.at("model").as_string()) : "";
    const int chunks = HeaderInt(req, "x-mock-chunks", 5);
    const int delay = HeaderInt(req, "x-mock-chunk-delay-ms", g_opt.chunk_delay_ms);
    const bool reset_mid = Header(req, "x-mock-fault", g_opt.fault) == "reset_mid_stream";
    const int reset_after = HeaderInt(req, "x-mock-reset-after", 2);
    const std::string vendor = Header(req, "x-mock-vendor");
    bool include_usage = vendor == "openrouter";  // OpenRouter always reports usage
    if (HeaderInt(req, "x-mock-no-usage", 0) == 1) {
        // like a server that ignores stream_options
    } else if (auto* so = body.if_contains("stream_options"); so && so->is_object()) {
        if (auto* iu = so->as_object().if_contains("include_usage"); iu && iu->is_bool()) include_usage = iu->as_bool();
    }
    const std::string id = chat ? "chatcmpl-mock" : "cmpl-mock";
    g_stats.streams_started++;
    g_stats.active_streams++;
    struct Active {
        ~Active() { g_stats.active_streams--; }
    } active;
    if (!co_await Send(s, Head(200, "OK", "text/event-stream", "Cache-Control: no-cache\r\n", 0, true))) {
        g_stats.streams_cancelled++;
        co_return false;
    }
    const auto tool = chat ? WantedToolCall(body) : std::nullopt;
    const auto tool_result = chat ? LastToolResult(body) : std::nullopt;
    if (vendor == "openrouter" && !co_await Send(s, Chunk(": OPENROUTER PROCESSING\n\n"))) co_return false;
    if (chat && HeaderInt(req, "x-mock-thinking", 0) == 1) {  // reasoning first, as reasoning models send it
        json::object think{
            {"id", id},
            {"object", "chat.completion.chunk"},
            {"created", 1700000000},
            {"model", model},
            {"choices",
             json::array{json::object{
                 {"index", 0},
                 {"delta",
                  {{"role", "assistant"}, {vendor == "vllm" ? "reasoning" : "reasoning_content", "Let me think."}}},
                 {"finish_reason", nullptr}}}}};
        if (!co_await Send(s, Chunk("data: " + json::serialize(think) + "\n\n"))) co_return false;
    }
    for (int i = 0; i < chunks; ++i) {
        if (i > 0) co_await Sleep(delay);
        if (reset_mid && i == reset_after) {
            Reset(s);
            co_return false;
        }
        if (PeerClosed(s)) {
            g_stats.streams_cancelled++;
            co_return false;
        }
        json::object chunk{{"id", id}, {"created", 1700000000}, {"model", model}};
        if (chat) {
            json::object delta;
            if (i == 0) delta["role"] = "assistant";
            delta["content"] = tool_result && i == 0 ? "Tool result: " + tool_result->substr(0, 200)
                               : tool_result         ? std::string()
                                                     : Word(i);
            if (tool && i > 0) {  // the call's arguments in pieces, the first with id and name
                const std::size_t step = (tool->arguments.size() + chunks - 2) / std::max(1, chunks - 1);
                json::object call{{"function", {{"arguments", tool->arguments.substr((i - 1) * step, step)}}}};
                if (vendor != "gemini" && vendor != "ollama") call["index"] = 0;  // those omit it
                if (i == 1) {
                    call["id"] = "functions." + tool->name + ":0";
                    call["type"] = "function";
                    call["function"].as_object()["name"] = tool->name;
                }
                delta["content"] = nullptr;
                delta["tool_calls"] = json::array{std::move(call)};
            }
            chunk["object"] = "chat.completion.chunk";
            chunk["choices"] = json::array{json::object{{"index", 0}, {"delta", delta}, {"finish_reason", nullptr}}};
        } else {
            chunk["object"] = "text_completion";
            chunk["choices"] = json::array{json::object{{"index", 0}, {"text", Word(i)}, {"finish_reason", nullptr}}};
        }
        if (include_usage) chunk["usage"] = nullptr;
        if (!co_await Send(s, Chunk("data: " + json::serialize(chunk) + "\n\n"))) {
            g_stats.streams_cancelled++;
            co_return false;
        }
    }
    std::string tail;
    json::object last{{"id", id}, {"created", 1700000000}, {"model", model}};
    if (chat) {
        last["object"] = "chat.completion.chunk";
        json::object choice{{"index", 0}, {"delta", json::object{}}, {"finish_reason", tool ? "tool_calls" : "stop"}};
        if (vendor == "moonshot") {  // usage inside the choice, and no usage chunk
            choice["usage"] = ChatUsage(req, PromptTokens(body), chunks);
            include_usage = false;
        }
        last["choices"] = json::array{std::move(choice)};
    } else {
        last["object"] = "text_completion";
        last["choices"] = json::array{json::object{{"index", 0}, {"text", ""}, {"finish_reason", "stop"}}};
    }
    tail += "data: " + json::serialize(last) + "\n\n";
    if (include_usage) {
        json::object usage{{"id", id},
                           {"object", chat ? "chat.completion.chunk" : "text_completion"},
                           {"created", 1700000000},
                           {"model", model},
                           {"choices", json::array{}},
                           {"usage", ChatUsage(req, PromptTokens(body), chunks)}};
        tail += "data: " + json::serialize(usage) + "\n\n";
    }
    tail += "data: [DONE]\n\n";
    bool ok = co_await Send(s, Chunk(tail) + "0\r\n\r\n");
    if (ok)
        g_stats.streams_completed++;
    else
        g_stats.streams_cancelled++;
    co_return ok;
}

std::string Completion(const http::request<http::string_body>& req, const json::object& body, bool chat,
                       bool with_usage) {
    const std::string model = body.contains("model") ? std::string(body.at("model").as_string()) : "";
    std::string text = "Hello from " + g_opt.name;
    json::object out{{"id", chat ? "chatcmpl-mock" : "cmpl-mock"}, {"created", 1700000000}, {"model", model}};
    if (chat) {
        out["object"] = "chat.completion";
        json::object message{{"role", "assistant"}, {"content", text}};
        if (HeaderInt(req, "x-mock-thinking", 0) == 1)
            message[Header(req, "x-mock-vendor") == "vllm" ? "reasoning" : "reasoning_content"] = "Let me think.";
        std::string finish = "stop";
        if (auto result = LastToolResult(body)) message["content"] = "Tool result: " + result->substr(0, 200);
        if (auto tool = WantedToolCall(body)) {
            // A Kimi-style id, which Anthropic clients cannot take as it is.
            message["content"] = nullptr;
            message["tool_calls"] = json::array{{{"id", "functions." + tool->name + ":0"},
                                                 {"type", "function"},
                                                 {"function", {{"name", tool->name}, {"arguments", tool->arguments}}}}};
            finish = "tool_calls";
        }
        out["choices"] =
            json::array{json::object{{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish}}};
    } else {
        out["object"] = "text_completion";
        out["choices"] = json::array{json::object{{"index", 0}, {"text", text}, {"finish_reason", "stop"}}};
    }
    if (with_usage) out["usage"] = ChatUsage(req, PromptTokens(body), 4);
    return json::serialize(out);
}

std::string Embeddings(const json::object& body) {
    std::size_t n = 1;
    if (auto* in = body.if_contains("input"); in && in->is_array()) n = in->as_array().size();
    // The official SDKs ask for base64 (little-endian float32) by default.
    const bool base64 = body.contains("encoding_format") && body.at("encoding_format") == "base64";
    json::array data;
    for (std::size_t i = 0; i < n; ++i) {
        json::array vec;
        float raw[8];
        for (int d = 0; d < 8; ++d) {
            raw[d] = static_cast<float>(0.125 * d + 0.01 * static_cast<double>(i));
            vec.push_back(raw[d]);
        }
        json::value embedding = vec;
        if (base64) {
            std::string encoded(beast::detail::base64::encoded_size(sizeof raw), '\0');
            encoded.resize(beast::detail::base64::encode(encoded.data(), raw, sizeof raw));
            embedding = encoded;
        }
        data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
    }
    json::object out{
        {"object", "list"},
        {"data", data},
        {"model", body.contains("model") ? body.at("model") : json::value("")},
        {"usage", json::object{{"prompt_tokens", PromptTokens(body)}, {"total_tokens", PromptTokens(body)}}}};
    return json::serialize(out);
}

std::string ErrorJson(std::string_view message, std::string_view type, std::string_view code) {
    return json::serialize(json::object{
        {"error", json::object{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}});
}

// What a vendor that rejects parameters (Zhipu) would refuse in this request.
std::optional<std::string> VendorRefusal(const http::request<http::string_body>& req, const json::object& body) {
    if (Header(req, "x-mock-vendor") != "zhipu") return std::nullopt;
    for (const char* key :
         {"presence_penalty", "frequency_penalty", "stream_options", "max_completion_tokens", "parallel_tool_calls"}) {
        if (body.contains(key)) return std::string("unsupported parameter: ") + key;
    }
    for (const char* list : {"messages", "tools"}) {
        auto* items = body.if_contains(list);
        if (!items || !items->is_array()) continue;
        for (const auto& item : items->get_array()) {
            if (!item.is_object()) continue;
            if (item.get_object().contains("name") && std::string_view(list) == "messages")
                return std::string("unsupported parameter: messages[].name");
            auto* fn = item.get_object().if_contains("function");
            if (fn && fn->is_object() && fn->get_object().contains("strict"))
                return std::string("unsupported parameter: tools[].function.strict");
        }
    }
    return std::nullopt;
}

// Returns false when the connection must close.
asio::awaitable<bool> Handle(tcp::socket& s, http::request<http::string_body>& req) {
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (!path.starts_with("/mock/")) g_stats.requests++;  // introspection calls do not count
    if (path == "/mock/stats") {
        json::object st{{"name", g_opt.name},
                        {"requests", g_stats.requests.load()},
                        {"streams_started", g_stats.streams_started.load()},
                        {"streams_completed", g_stats.streams_completed.load()},
                        {"streams_cancelled", g_stats.streams_cancelled.load()},
                        {"active_streams", g_stats.active_streams.load()},
                        {"usage_events", g_stats.usage_events.load()}};
        auto b = json::serialize(st);
        co_return co_await Send(s, Head(200, "OK", "application/json", "", b.size(), false) + b);
    }
    if (path == "/mock/last") {
        std::string b;
        {
            std::lock_guard lock(g_stats.mu);
            b = g_stats.last_request;
        }
        co_return co_await Send(s, Head(200, "OK", "application/json", "", b.size(), false) + b);
    }
    if (path == "/mock/reset") {
        g_stats.requests = 0;
        g_stats.streams_started = g_stats.streams_completed = g_stats.streams_cancelled = 0;
        co_return co_await Send(s, Head(200, "OK", "application/json", "", 2, false) + "{}");
    }
    if (path.ends_with("/usage")) {
        // A usage-webhook receiver for benchmarks: counts events, answers at once.
        long n = 0;
        for (std::size_t at = req.body().find("\"request_id\""); at != std::string::npos;
             at = req.body().find("\"request_id\"", at + 1)) {
            ++n;
        }
        g_stats.usage_events += n;
        co_return co_await Send(s, Head(200, "OK", "application/json", "", 2, false) + "{}");
    }
    RecordLast(req);
    const std::string fault = Header(req, "x-mock-fault", g_opt.fault);
    co_await Sleep(HeaderInt(req, "x-mock-first-byte-delay-ms", g_opt.first_byte_delay_ms));
    if (fault == "reset") {
        Reset(s);
        co_return false;
    }
    if (fault == "hang") {
        co_await Sleep(3'600'000);
        co_return false;
    }
    if (fault == "500") {
        auto b = ErrorJson("The server had an error while processing your request.", "server_error", "mock_500");
        const std::string vendor = Header(req, "x-mock-vendor");
        if (vendor == "ollama") b = R"({"error":"model runner has unexpectedly stopped"})";
        if (vendor == "tgi") b = R"({"error":"Request failed during generation","error_type":"generation"})";
        co_return co_await Send(s, Head(500, "Internal Server Error", "application/json", "", b.size(), false) + b);
    }
    if (fault == "429") {
        auto b = ErrorJson("Rate limit reached for requests", "requests", "rate_limit_exceeded");
        std::string extra = "Retry-After: " + Header(req, "x-mock-retry-after", "1") +
                            "\r\nx-ratelimit-limit-requests: 60\r\nx-ratelimit-remaining-requests: 0\r\n"
                            "x-ratelimit-reset-requests: 1s\r\n";
        co_return co_await Send(s, Head(429, "Too Many Requests", "application/json", extra, b.size(), false) + b);
    }
    if (path == "/health" || path == "/v1/health") {
        co_return co_await Send(s, Head(200, "OK", "application/json", "", 15, false) + R"({"status":"ok"})");
    }
    if (path.ends_with("/models")) {
        std::string b =
            R"({"object":"list","data":[{"id":"mock-model","object":"model","created":0,"owned_by":"mock"}]})";
        co_return co_await Send(s, Head(200, "OK", "application/json", "", b.size(), false) + b);
    }
    json::object body;
    if (!req.body().empty()) {
        error_code ec;
        auto v = json::parse(req.body(), ec);
        if (ec || !v.is_object()) {
            auto b = ErrorJson("invalid JSON", "invalid_request_error", "invalid_json");
            co_return co_await Send(s, Head(400, "Bad Request", "application/json", "", b.size(), false) + b);
        }
        body = v.as_object();
    }
    const bool stream = body.contains("stream") && body.at("stream").is_bool() && body.at("stream").as_bool();
    if (auto refusal = VendorRefusal(req, body)) {
        auto b = ErrorJson(*refusal, "invalid_request_error", "unsupported_parameter");
        co_return co_await Send(s, Head(400, "Bad Request", "application/json", "", b.size(), false) + b);
    }
    std::string b;
    if (path.ends_with("/responses")) {
        co_return co_await HandleResponses(s, req, body);
    } else if (path.ends_with("/messages") || path.ends_with("/messages/count_tokens")) {
        co_return co_await HandleMessages(s, req, body, path.ends_with("/count_tokens"));
    } else if (path.ends_with("/chat/completions") || path.ends_with("/completions")) {
        bool chat = path.ends_with("/chat/completions");
        if (stream) co_return co_await Stream(s, req, body, chat);
        b = Completion(req, body, chat, HeaderInt(req, "x-mock-no-usage", 0) != 1);
    } else if (path.ends_with("/embeddings")) {
        b = Embeddings(body);
    } else {
        // Anything else: echo what arrived, so pass-through can be checked.
        b = json::serialize(json::object{{"object", "echo"},
                                         {"method", std::string(req.method_string())},
                                         {"target", target},
                                         {"body_bytes", req.body().size()}});
    }
    co_return co_await Send(s, Head(200, "OK", "application/json", "", b.size(), false) + b);
}

asio::awaitable<void> Session(tcp::socket socket) {
    beast::flat_buffer buffer;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(256u << 20);
        auto [ec, n] = co_await http::async_read(socket, buffer, parser, kNoThrow);
        if (ec) break;
        auto req = parser.release();
        bool keep = co_await Handle(socket, req) && req.keep_alive();
        if (!keep) break;
    }
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

asio::awaitable<void> Accept(tcp::acceptor& acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
        if (ec) co_return;
        asio::co_spawn(acceptor.get_executor(), Session(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"mock_upstream: a fake OpenAI-compatible server"};
    std::string listen = "127.0.0.1:9000";
    int threads = 1;
    app.add_option("--listen", listen, "host:port");
    app.add_option("--name", g_opt.name, "name reported in x-mock-name and replies");
    app.add_option("--threads", threads, "I/O threads");
    app.add_option("--chunk-delay-ms", g_opt.chunk_delay_ms, "default delay between stream chunks");
    app.add_option("--first-byte-delay-ms", g_opt.first_byte_delay_ms, "default delay before responding");
    app.add_option("--fault", g_opt.fault, "default fault (500, 429, reset, reset_mid_stream, hang)");
    CLI11_PARSE(app, argc, argv);
    std::signal(SIGPIPE, SIG_IGN);

    auto colon = listen.rfind(':');
    asio::io_context ioc(threads);
    tcp::endpoint ep(asio::ip::make_address(listen.substr(0, colon)),
                     static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
    tcp::acceptor acceptor(ioc);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::cerr << "mock_upstream '" << g_opt.name << "' listening on " << listen << std::endl;
    asio::co_spawn(ioc, Accept(acceptor), asio::detached);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const error_code&, int) { ioc.stop(); });
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    return 0;
}
