#pragma once
// The viewers' files, embedded in the binary at build time (third_party/docs-viewers).
#include <string_view>

namespace llmproxy::pipeline {

struct DocsAsset {
    std::string_view name;  // as served under /docs/assets/
    std::string_view content_type;
    std::string_view bytes;
};

/// The asset named `name`, or null.
const DocsAsset* FindDocsAsset(std::string_view name);

}  // namespace llmproxy::pipeline
