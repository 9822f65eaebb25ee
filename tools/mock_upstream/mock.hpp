#pragma once
// What the mock's dialects share: options, counters, header reading, HTTP framing and the
// scripted behaviour (words of a stream, usage, a tool call asked for in the prompt).
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace mock {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

struct Options {
    std::string name = "mock";
    int chunk_delay_ms = 0;
    int first_byte_delay_ms = 0;
    std::string fault;
};

struct Stats {
    std::atomic<long> requests{0}, streams_started{0}, streams_completed{0}, streams_cancelled{0}, active_streams{0},
        usage_events{0};
    std::mutex mu;
    std::string last_request = "{}";
};

extern Options g_opt;
extern Stats g_stats;

std::string Header(const http::request<http::string_body>& req, const char* name, std::string def = {});
int HeaderInt(const http::request<http::string_body>& req, const char* name, int def);
std::string Head(int status, std::string_view reason, std::string_view ctype, std::string extra, std::size_t length,
                 bool chunked);
asio::awaitable<bool> Send(tcp::socket& s, std::string data);
asio::awaitable<void> Sleep(int ms);
bool PeerClosed(tcp::socket& s);
void Reset(tcp::socket& s);
std::string Chunk(std::string_view data);
int PromptTokens(const json::object& body);
std::string Word(int i);
json::object Usage(int prompt, int completion);
/// Usage with what the request's x-mock-cache-read and x-mock-thinking ask for.
json::object ChatUsage(const http::request<http::string_body>& req, int prompt, int completion);

/// The tool call a prompt asks for with "[[tool:NAME {json args}]]" in the last user text, when
/// the conversation does not already end with a tool's result.
struct ToolCall {
    std::string name;
    std::string arguments;
};
std::optional<ToolCall> WantedToolCall(const json::object& body);
/// The text of the last tool result in the conversation (either dialect), if it ends with one.
std::optional<std::string> LastToolResult(const json::object& body);

/// POST /v1/responses, in OpenAI's Responses dialect (a server that serves it natively).
asio::awaitable<bool> HandleResponses(tcp::socket& s, const http::request<http::string_body>& req,
                                      const json::object& body);

/// POST /v1/messages and /v1/messages/count_tokens, in Anthropic's dialect.
asio::awaitable<bool> HandleMessages(tcp::socket& s, const http::request<http::string_body>& req,
                                     const json::object& body, bool count_tokens);

}  // namespace mock
