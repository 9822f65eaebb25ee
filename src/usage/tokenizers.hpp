#pragma once
// The gateway's tokenizers (cl100k_base, o200k_base), loaded off the main path in a background
// thread at start (~0.1 s); until then, or when the rank files are missing, callers get null
// and fall back to estimates. Shared read-only by every worker.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "usage/tokenizer.hpp"

namespace llmproxy::usage {

class Tokenizers {
public:
    Tokenizers(std::string data_dir, std::string default_encoding);
    ~Tokenizers();
    void LoadInBackground();
    void LoadNow();  // for tests and tools
    /// Waits for a background load to finish (before logging shuts down).
    void Join() {
        if (loader_.joinable()) loader_.join();
    }

    /// The encoding tiktoken uses for `model` (the default encoding for unknown models).
    const Tokenizer* ForModel(std::string_view model) const;
    const Tokenizer* ByName(std::string_view encoding) const;
    std::string_view EncodingOf(std::string_view model) const { return EncodingForModel(model, default_encoding_); }

private:
    std::string data_dir_, default_encoding_;
    std::unique_ptr<Tokenizer> cl100k_, o200k_;
    std::atomic<bool> ready_{false};
    std::thread loader_;
};

}  // namespace llmproxy::usage
