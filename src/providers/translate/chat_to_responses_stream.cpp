#include <algorithm>
#include <ctime>

#include "core/json_escape.hpp"
#include "providers/translate/common.hpp"
#include "providers/translate/responses_shapes.hpp"
#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate {
namespace {

std::string Quoted(std::string_view text) {
    std::string out;
    core::AppendJsonString(out, text);
    return out;
}

}  // namespace

ChatToResponsesStream::ChatToResponsesStream(ResponsesStreamOptions options)
    : options_(std::move(options)), id_(responses::NewResponseId()), created_(std::time(nullptr)) {}

void ChatToResponsesStream::Emit(std::string_view type, std::string_view fields, std::string& out) {
    out += "event: ";
    out += type;
    out += "\ndata: {\"type\":\"";
    out += type;
    out += "\",\"sequence_number\":";
    out += std::to_string(sequence_++);
    if (!fields.empty()) {
        out += ',';
        out += fields;
    }
    out += "}\n\n";
}

responses::ResponseState ChatToResponsesStream::State(std::string_view status) const {
    responses::ResponseState state;
    state.id = id_;
    state.model = options_.model;
    state.created_at = created_;
    state.status = status;
    return state;
}

void ChatToResponsesStream::Start(std::string& out) {
    started_ = true;
    const std::string response = "\"response\":" + responses::ResponseJson(State("in_progress"), {}, {});
    Emit("response.created", response, out);
    Emit("response.in_progress", response, out);
}

// "item_id":..,"output_index":..
std::string ChatToResponsesStream::ItemRef(const Item& item) const {
    return "\"item_id\":" + Quoted(item.id) + ",\"output_index\":" + std::to_string(item.output_index);
}

ChatToResponsesStream::Item ChatToResponsesStream::Open(Kind kind, std::string& out, std::int64_t upstream_index,
                                                        std::string_view call_id, std::string_view name) {
    Item item{kind, next_output_++, upstream_index, {}, std::string(call_id), std::string(name), {}};
    const std::string n = std::to_string(item.output_index);
    std::string added;
    switch (kind) {
        case Kind::kMessage:
            item.id = "msg_" + id_.substr(5) + "_" + n;
            added = R"({"id":)" + Quoted(item.id) +
                    R"(,"type":"message","status":"in_progress","role":"assistant","content":[]})";
            break;
        case Kind::kReasoning:
            item.id = "rs_" + id_.substr(5) + "_" + n;
            added = R"({"id":)" + Quoted(item.id) + R"(,"type":"reasoning","summary":[]})";
            break;
        case Kind::kFunction:
            item.id = "fc_" + id_.substr(5) + "_" + n;
            added = responses::FunctionCallItem(item.id, item.call_id, item.name, {}, "in_progress");
            break;
        case Kind::kCustom:
            item.id = "ctc_" + id_.substr(5) + "_" + n;
            added = responses::CustomCallItem(item.id, item.call_id, item.name, {}, "in_progress");
            break;
    }
    Emit("response.output_item.added", "\"output_index\":" + n + ",\"item\":" + added, out);
    if (kind == Kind::kMessage) {
        Emit("response.content_part.added",
             ItemRef(item) +
                 R"(,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]})",
             out);
    } else if (kind == Kind::kReasoning) {
        Emit("response.reasoning_summary_part.added",
             ItemRef(item) + R"(,"summary_index":0,"part":{"type":"summary_text","text":""})", out);
    }
    return item;
}

void ChatToResponsesStream::Append(Item& item, std::string_view delta, std::string& out) {
    if (delta.empty()) return;
    if (OverCap(delta.size())) {
        Fail("response_too_large", "the answer is larger than the gateway keeps for a Responses stream", out);
        return;
    }
    item.text.append(delta);
    switch (item.kind) {
        case Kind::kMessage:
            Emit("response.output_text.delta",
                 ItemRef(item) + ",\"content_index\":0,\"delta\":" + Quoted(delta) + ",\"logprobs\":[]", out);
            break;
        case Kind::kReasoning:
            Emit("response.reasoning_summary_text.delta",
                 ItemRef(item) + ",\"summary_index\":0,\"delta\":" + Quoted(delta), out);
            break;
        case Kind::kFunction:
            Emit("response.function_call_arguments.delta", ItemRef(item) + ",\"delta\":" + Quoted(delta), out);
            break;
        case Kind::kCustom:
            break;  // the raw input is known once the arguments are whole (see Close)
    }
}

void ChatToResponsesStream::Close(Item& item, std::string& out) {
    const std::string ref = ItemRef(item);
    std::string done;
    switch (item.kind) {
        case Kind::kMessage: {
            const std::string text = Quoted(item.text);
            Emit("response.output_text.done", ref + ",\"content_index\":0,\"text\":" + text + ",\"logprobs\":[]", out);
            Emit("response.content_part.done",
                 ref + R"(,"content_index":0,"part":{"type":"output_text","text":)" + text +
                     R"(,"annotations":[],"logprobs":[]})",
                 out);
            done = responses::MessageItem(item.id, item.text);
            break;
        }
        case Kind::kReasoning: {
            const std::string text = Quoted(item.text);
            Emit("response.reasoning_summary_text.done", ref + ",\"summary_index\":0,\"text\":" + text, out);
            Emit("response.reasoning_summary_part.done",
                 ref + R"(,"summary_index":0,"part":{"type":"summary_text","text":)" + text + "}", out);
            done = responses::ReasoningItem(item.id, item.text);
            break;
        }
        case Kind::kFunction:
            if (item.text.empty()) item.text = "{}";
            Emit("response.function_call_arguments.done",
                 ref + ",\"name\":" + Quoted(item.name) + ",\"arguments\":" + Quoted(item.text), out);
            done = responses::FunctionCallItem(item.id, item.call_id, item.name, item.text);
            break;
        case Kind::kCustom: {
            const std::string input = responses::CustomInput(item.text);
            Emit("response.custom_tool_call_input.delta", ref + ",\"delta\":" + Quoted(input), out);
            Emit("response.custom_tool_call_input.done", ref + ",\"input\":" + Quoted(input), out);
            done = responses::CustomCallItem(item.id, item.call_id, item.name, input);
            break;
        }
    }
    Emit("response.output_item.done", "\"output_index\":" + std::to_string(item.output_index) + ",\"item\":" + done,
         out);
    if (!done_.empty()) done_ += ',';
    done_ += done;
}

void ChatToResponsesStream::CloseText(std::string& out) {
    if (!text_open_) return;
    text_open_ = false;
    Close(text_, out);
}

bool ChatToResponsesStream::OverCap(std::size_t more) {
    kept_ += more;
    return kept_ > options_.max_output_bytes;
}

// One entry of delta.tool_calls. Upstreams that omit `index` (Gemini, older Ollama) are read by
// id: a new id is a new call.
void ChatToResponsesStream::ToolDelta(const json::object& call, std::string& out) {
    const auto id = StringOf(call, "id");
    std::int64_t index = IntOf(call, "index", -1);
    if (index < 0) {
        const bool new_call = tools_.empty() || (!id.empty() && id != tools_.back().call_id);
        index = new_call ? static_cast<std::int64_t>(tools_.size()) : tools_.back().upstream_index;
    }
    const json::object* function = ObjectOf(call, "function");
    const auto name = function ? StringOf(*function, "name") : std::string_view();
    auto found = std::find_if(tools_.begin(), tools_.end(), [&](const Item& t) { return t.upstream_index == index; });
    if (found == tools_.end()) {
        CloseText(out);
        const bool custom =
            std::find(options_.custom_tools.begin(), options_.custom_tools.end(), name) != options_.custom_tools.end();
        const std::string call_id = id.empty() ? "call_" + std::to_string(next_output_) : std::string(id);
        tools_.push_back(Open(custom ? Kind::kCustom : Kind::kFunction, out, index, call_id, name));
        found = tools_.end() - 1;
    }
    if (auto args = function ? StringOf(*function, "arguments") : std::string_view(); !args.empty())
        Append(*found, args, out);
}

void ChatToResponsesStream::OnData(std::string_view data, std::string& out) {
    if (stopped_ || data.empty()) return;  // a keep-alive comment: Responses streams have none
    if (data == "[DONE]") {
        Stop(out);
        return;
    }
    unsigned char scratch[4096];  // most chunks parse without touching the heap
    json::monotonic_resource memory(scratch, sizeof scratch);
    boost::system::error_code ec;
    json::value v = json::parse(data, ec, &memory);
    if (ec || !v.is_object()) return;  // not JSON: nothing a client could use
    const json::object& chunk = v.get_object();
    if (!started_) Start(out);
    if (const json::object* error = ObjectOf(chunk, "error")) {  // a mid-stream error (OpenRouter, vLLM)
        Fail("server_error", StringOf(*error, "message"), out);
        return;
    }
    if (const json::object* usage = ObjectOf(chunk, "usage")) ReadChatUsage(*usage, tokens_);
    const json::array* choices = ArrayOf(chunk, "choices");
    if (!choices || choices->empty() || !(*choices)[0].is_object()) return;
    const json::object& choice = (*choices)[0].get_object();
    if (const json::object* usage = ObjectOf(choice, "usage")) ReadChatUsage(*usage, tokens_);  // Moonshot
    if (const json::object* delta = ObjectOf(choice, "delta")) {
        auto reasoning = StringOf(*delta, "reasoning_content");
        if (reasoning.empty()) reasoning = StringOf(*delta, "reasoning");
        for (auto [kind, text] :
             {std::pair{Kind::kReasoning, reasoning}, {Kind::kMessage, StringOf(*delta, "content")}}) {
            if (text.empty() || stopped_) continue;
            if (!text_open_ || text_.kind != kind) {
                CloseText(out);
                text_ = Open(kind, out);
                text_open_ = true;
            }
            Append(text_, text, out);
        }
        if (const json::array* calls = ArrayOf(*delta, "tool_calls")) {
            for (const auto& c : *calls) {
                if (c.is_object() && !stopped_) ToolDelta(c.get_object(), out);
            }
        }
    }
    if (auto finish = StringOf(choice, "finish_reason"); !finish.empty()) finish_reason_ = finish;
}

// The items close in order, then the terminal event with the usage (which comes after the
// finish chunk: hence not before [DONE] or the end of the stream).
void ChatToResponsesStream::Stop(std::string& out) {
    if (stopped_) return;
    if (!started_) Start(out);
    CloseText(out);
    for (Item& tool : tools_) Close(tool, out);
    tools_.clear();
    stopped_ = true;
    const std::string_view status = responses::StatusOf(finish_reason_);
    responses::ResponseState state = State(status);
    state.incomplete_reason = responses::IncompleteReasonOf(finish_reason_);
    const std::string response = responses::ResponseJson(state, done_, responses::UsageJson(tokens_));
    Emit(status == "completed" ? "response.completed" : "response.incomplete", "\"response\":" + response, out);
}

void ChatToResponsesStream::Finish(std::string& out) {
    Stop(out);
}

void ChatToResponsesStream::Fail(std::string_view code, std::string_view message, std::string& out) {
    if (stopped_) return;
    if (!started_) Start(out);
    stopped_ = true;
    responses::ResponseState state = State("failed");
    state.error_code = code;
    state.error_message = message;
    const std::string response = responses::ResponseJson(state, done_, responses::UsageJson(tokens_));
    Emit("response.failed", "\"response\":" + response, out);
}

}  // namespace llmproxy::providers::translate
