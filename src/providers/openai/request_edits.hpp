#pragma once
// A vendor's request quirks applied to the body that goes upstream: fields it rejects removed
// (drop_params: "a", "a.b", "a[].b" for every element of array a) and fields it knows by
// another name renamed (rename_params, top level). Only for providers that list any: the body
// is parsed and re-serialized, so others keep the client's bytes.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmproxy::providers::openai {

/// The edited body, or nothing when `body` is not a JSON object or no edit applied.
std::optional<std::string> EditParams(std::string_view body, const std::vector<std::string>& drop,
                                      const std::vector<std::pair<std::string, std::string>>& rename);

}  // namespace llmproxy::providers::openai
