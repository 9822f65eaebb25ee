#pragma once
// The response observer that turns an upstream's dialect into the client's: event by event for
// streams, the whole body (read up to the relay's cap) otherwise, and error bodies in the
// client's error shape. Sits after the usage reader (which reads the upstream's dialect) and
// before the request's own observers (which see what the client sees).
#include <memory>
#include <string>
#include <vector>

#include "core/dialect.hpp"
#include "providers/response_observer.hpp"

namespace llmproxy::providers::translate {

struct TranslatorOptions {
    std::string model;                         // the model name the client asked for (its answers carry it)
    bool include_usage = false;                // an OpenAI client asked for stream usage
    std::vector<std::string> custom_tools;     // Responses clients' custom tools, offered upstream as functions
    std::size_t max_output_bytes = 16u << 20;  // what a Responses stream keeps for its done events
};

/// Null when the two dialects are the same (pass-through) or no translation exists. A Responses
/// client on an Anthropic upstream gets two translators in one: Messages -> chat -> Responses.
std::unique_ptr<ResponseObserver> MakeTranslator(core::Dialect upstream, core::Dialect client,
                                                 TranslatorOptions options);

}  // namespace llmproxy::providers::translate
