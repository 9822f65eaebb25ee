// libFuzzer target: an OpenAI-compatible upstream's stream (one event's data per input line)
// translated for a Responses client (Codex), and the same bytes as a whole body, a Responses
// request and a WebSocket frame. Properties: no crash; every frame is
// "event: <name>\ndata: <JSON object>\n\n" with the name equal to the data's type; sequence
// numbers count up from 0; response.created comes first and exactly one terminal event
// (completed, incomplete or failed) comes last.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/json.hpp>

#include "providers/translate/bodies.hpp"
#include "providers/translate/requests.hpp"
#include "providers/translate/streams.hpp"
#include "stages/socket/responses_history.hpp"

namespace {

using namespace llmproxy::providers::translate;

bool Terminal(std::string_view name) {
    return name == "response.completed" || name == "response.incomplete" || name == "response.failed";
}

void CheckFrames(const std::string& out) {
    std::string_view rest = out;
    std::int64_t sequence = 0;
    int terminals = 0;
    std::string last;
    while (!rest.empty()) {
        if (!rest.starts_with("event: ")) __builtin_trap();
        const auto name_end = rest.find('\n');
        const std::string name(rest.substr(7, name_end - 7));
        rest.remove_prefix(name_end + 1);
        if (!rest.starts_with("data: ")) __builtin_trap();
        const auto data_end = rest.find("\n\n");
        if (data_end == std::string_view::npos) __builtin_trap();
        boost::system::error_code ec;
        auto v = boost::json::parse(rest.substr(6, data_end - 6), ec);
        if (ec || !v.is_object()) __builtin_trap();
        const auto& event = v.as_object();
        if (event.at("type") != boost::json::value(name)) __builtin_trap();
        if (event.at("sequence_number") != boost::json::value(sequence)) __builtin_trap();
        if (sequence == 0 && name != "response.created") __builtin_trap();
        ++sequence;
        terminals += Terminal(name);
        last = name;
        rest.remove_prefix(data_end + 2);
    }
    if (terminals != 1 || !Terminal(last)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    ChatToResponsesStream stream({.model = "m", .custom_tools = {"apply_patch"}, .max_output_bytes = 4096});
    std::string out;
    std::string_view rest = input;
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        stream.OnData(rest.substr(0, eol), out);
        if (eol == std::string_view::npos) break;
        rest.remove_prefix(eol + 1);
    }
    stream.Finish(out);
    CheckFrames(out);
    (void)ChatToResponseBody(input, {.model = "m", .custom_tools = {"apply_patch"}});
    (void)ResponsesToChatRequest(input, {.upstream_model = "u"});
    llmproxy::stages::ResponsesHistory history(1 << 16);
    (void)history.Prepare(input);
    history.OnEvent(input);
    return 0;
}
