#include "providers/openai/request_edits.hpp"

#include <boost/json.hpp>

namespace llmproxy::providers::openai {
namespace {

namespace json = boost::json;

// Removes the field at `path` (segments split by '.'; "name[]" walks every element of an
// array) from `value`; true when something was removed.
bool Drop(json::value& value, std::string_view path) {
    if (!value.is_object()) return false;
    const auto dot = path.find('.');
    std::string_view head = path.substr(0, dot);
    const std::string_view rest = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    json::object& object = value.get_object();
    if (rest.empty()) return object.erase(head) > 0;
    const bool each = head.ends_with("[]");
    if (each) head.remove_suffix(2);
    json::value* child = object.if_contains(head);
    if (!child) return false;
    if (!each) return Drop(*child, rest);
    if (!child->is_array()) return false;
    bool dropped = false;
    for (auto& element : child->get_array()) dropped = Drop(element, rest) || dropped;
    return dropped;
}

}  // namespace

std::optional<std::string> EditParams(std::string_view body, const std::vector<std::string>& drop,
                                      const std::vector<std::pair<std::string, std::string>>& rename) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    bool edited = false;
    for (const auto& path : drop) edited = Drop(v, path) || edited;
    json::object& object = v.get_object();
    for (const auto& [from, to] : rename) {
        json::value* field = object.if_contains(from);
        if (!field || object.contains(to)) continue;
        json::value moved = std::move(*field);
        object.erase(from);
        object[to] = std::move(moved);
        edited = true;
    }
    if (!edited) return std::nullopt;
    return json::serialize(v);
}

}  // namespace llmproxy::providers::openai
