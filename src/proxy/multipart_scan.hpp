#pragma once
// Finds one form field in a multipart/form-data body (RFC 7578) without parsing the rest:
// uploads such as /v1/audio/transcriptions name their model in a `model` part, and the
// gateway must route and check the model the upstream will run, as it does for JSON bodies.
#include <optional>
#include <string>
#include <string_view>

namespace llmproxy::proxy {

struct MultipartField {
    enum Outcome {
        kAbsent,     // no part of that name (or the body is not multipart)
        kFound,      // exactly one, `value` holds it
        kAmbiguous,  // more than one, or one too long to be a field value: refuse the body
    } outcome = kAbsent;
    std::string value;
};

/// The value of the form field `name` in `body`, framed by the boundary of `content_type`
/// ("multipart/form-data; boundary=..."). Values longer than `max_value` count as ambiguous.
MultipartField FindMultipartField(std::string_view body, std::string_view content_type, std::string_view name,
                                  std::size_t max_value = 256);

}  // namespace llmproxy::proxy
