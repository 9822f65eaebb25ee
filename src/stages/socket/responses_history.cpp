#include "stages/socket/responses_history.hpp"

#include <ctime>

#include <boost/json.hpp>

#include "core/json_escape.hpp"
#include "providers/translate/responses_shapes.hpp"

namespace llmproxy::stages {
namespace {

namespace json = boost::json;

std::string_view StringOf(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

core::LocalReply NotFound(std::string_view id) {
    return core::BadRequest(
        "Previous response with id '" + std::string(id) + "' not found on this connection; send the whole conversation",
        "previous_response_not_found", "previous_response_id");
}

// The request's input as items (a string is one user message).
json::array InputItems(const json::object& request) {
    const json::value* input = request.if_contains("input");
    if (input && input->is_array()) return input->get_array();
    json::array items;
    if (input && input->is_string()) {
        items.push_back({{"type", "message"}, {"role", "user"}, {"content", input->get_string()}});
    }
    return items;
}

void Join(std::string& list, std::string_view item) {
    if (!list.empty()) list += ',';
    list += item;
}

}  // namespace

ResponsesHistory::Turn ResponsesHistory::Prepare(std::string_view frame) {
    Turn turn;
    boost::system::error_code ec;
    json::value v = json::parse(frame, ec);
    if (ec || !v.is_object()) {
        turn.error = core::BadRequest("The frame is not a JSON object", "invalid_json");
        return turn;
    }
    json::object& request = v.get_object();
    const std::string type(StringOf(request, "type"));
    if (type == "response.processed") {
        turn.ignore = true;
        return turn;
    }
    if (type != "response.create") {
        turn.error = core::BadRequest("Unsupported event type '" + type + "': send response.create",
                                      "unsupported_event_type", "type");
        return turn;
    }
    request.erase("type");
    request.erase("background");
    json::array input = InputItems(request);
    bool foreign = false;  // names a response this connection did not produce: the upstream may know it
    if (const json::value* prev = request.if_contains("previous_response_id"); prev && !prev->is_null()) {
        const std::string_view id = prev->is_string() ? std::string_view(prev->get_string()) : std::string_view();
        foreign = id.empty() || id != id_;
        json::value earlier = foreign ? json::value() : json::parse("[" + items_ + "]", ec);
        if (!foreign && (ec || !earlier.is_array())) {
            turn.error = NotFound(id);
            return turn;
        }
        if (!foreign) {
            json::array& whole = earlier.get_array();
            for (auto& item : input) whole.push_back(std::move(item));
            input = std::move(whole);
            request.erase("previous_response_id");
        }
    }
    if (const json::value* g = request.if_contains("generate"); g && g->is_bool() && !g->get_bool())
        turn.generate = false;
    request.erase("generate");
    pending_.clear();
    output_.clear();
    overflow_ = foreign;  // its history is partial: not one to continue from
    for (const auto& item : input) Join(pending_, json::serialize(item));
    if (pending_.size() > cap_) {
        pending_.clear();
        overflow_ = true;
    }
    if (!foreign || request.contains("input")) request["input"] = std::move(input);
    request["stream"] = true;
    turn.body = json::serialize(request);
    return turn;
}

bool ResponsesHistory::OnEvent(std::string_view data) {
    const bool item_done = data.find("\"response.output_item.done\"") != std::string_view::npos;
    const bool terminal = !item_done && (data.find("\"response.completed\"") != std::string_view::npos ||
                                         data.find("\"response.incomplete\"") != std::string_view::npos ||
                                         data.find("\"response.failed\"") != std::string_view::npos);
    if (!item_done && !terminal) return false;
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    if (ec || !v.is_object()) return false;
    const json::object& event = v.get_object();
    const auto type = StringOf(event, "type");
    if (type == "response.output_item.done") {
        if (const json::value* item = event.if_contains("item"); item && !overflow_) {
            Join(output_, json::serialize(*item));
            overflow_ = pending_.size() + output_.size() > cap_;
        }
        return false;
    }
    if (type != "response.completed" && type != "response.incomplete" && type != "response.failed") return false;
    const json::value* response = event.if_contains("response");
    const std::string_view id =
        response && response->is_object() ? StringOf(response->get_object(), "id") : std::string_view();
    if (type == "response.failed" || id.empty() || overflow_) {
        Commit({});  // nothing to continue from
    } else {
        Commit(std::string(id));
    }
    return true;
}

void ResponsesHistory::Commit(std::string id) {
    id_ = std::move(id);
    items_.clear();
    if (!id_.empty()) {
        items_ = std::move(pending_);
        if (!output_.empty()) Join(items_, output_);
    }
    pending_.clear();
    output_.clear();
}

std::pair<std::string, std::string> ResponsesHistory::Warmup(std::string_view model) {
    namespace responses = providers::translate::responses;
    const std::string id = responses::NewResponseId();
    responses::ResponseState state;
    state.id = id;
    state.model = model;
    state.created_at = std::time(nullptr);
    state.status = "in_progress";
    std::string created =
        R"({"type":"response.created","sequence_number":0,"response":)" + responses::ResponseJson(state, {}, {}) + "}";
    state.status = "completed";
    std::string completed = R"({"type":"response.completed","sequence_number":1,"response":)" +
                            responses::ResponseJson(state, {}, responses::UsageJson({})) + "}";
    Commit(overflow_ ? std::string() : id);
    return {std::move(created), std::move(completed)};
}

}  // namespace llmproxy::stages
