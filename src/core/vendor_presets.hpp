#pragma once
// Vendor presets (providers[].preset): what a provider of a known vendor needs besides its
// key, filled in before the provider's own fields (which override any of it): the API's base
// URL, the wire type, where its key is found by default, the health-check path, whether it
// serves the Responses or Messages API itself, and the vendor's quirks (parameters it
// rejects, tool-call deltas without an index, error bodies in its own shape, no stream usage).
// The table and what each quirk means are in the README (Vendor presets).
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace llmproxy::core {

struct VendorPreset {
    std::string_view name;
    std::string_view type;                      // openai | anthropic
    std::string_view base_url;                  // the vendor's public API (override for regions, plans, your host)
    std::string_view api_key_env;               // the key's usual environment variable, read when api_key is unset
    std::string_view health_path;               // appended to the base URL's path unless it starts with '/'
    bool native_responses = false;              // serves /v1/responses itself
    bool native_messages = false;               // serves Anthropic's /v1/messages itself
    bool stream_usage = true;                   // accepts stream_options.include_usage
    bool fix_tool_call_index = false;           // streams tool-call deltas without `index`
    bool normalize_errors = false;              // error bodies that are not OpenAI's {"error":{...}}
    std::vector<std::string_view> drop_params;  // request fields it rejects ("a", "a.b", "a[].b")
    std::vector<std::pair<std::string_view, std::string_view>> rename_params;  // field -> the name it takes
};

/// The preset called `name`, or null.
const VendorPreset* FindPreset(std::string_view name);

/// Every preset name, for error messages and docs.
std::string PresetNames();

}  // namespace llmproxy::core
