#include "usage/tokenizers.hpp"

#include <malloc.h>

#include <chrono>

#include <spdlog/spdlog.h>

namespace llmproxy::usage {

Tokenizers::Tokenizers(std::string data_dir, std::string default_encoding)
    : data_dir_(std::move(data_dir)), default_encoding_(std::move(default_encoding)) {}

Tokenizers::~Tokenizers() {
    if (loader_.joinable()) loader_.join();
}

void Tokenizers::LoadInBackground() {
    loader_ = std::thread([this] { LoadNow(); });
}

void Tokenizers::LoadNow() {
    const auto started = std::chrono::steady_clock::now();
    try {
        cl100k_ = Tokenizer::LoadFile(data_dir_ + "/cl100k_base.json", "cl100k_base");
        o200k_ = Tokenizer::LoadFile(data_dir_ + "/o200k_base.json", "o200k_base");
    } catch (const std::exception& e) {
        cl100k_.reset();
        o200k_.reset();
        spdlog::warn("{}; local token counting falls back to estimates (set tokenizer.data_dir)", e.what());
        return;
    }
    // Loading parsed two multi-megabyte JSON files in this thread's malloc arena: give the
    // freed pages back, or they would stay in the idle RSS for good.
    malloc_trim(0);
    ready_.store(true, std::memory_order_release);  // publishes the tokenizers to the workers
    spdlog::info(
        "tokenizers cl100k_base and o200k_base loaded in {} ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
}

const Tokenizer* Tokenizers::ByName(std::string_view encoding) const {
    if (!ready_.load(std::memory_order_acquire)) return nullptr;
    if (encoding == "cl100k_base") return cl100k_.get();
    if (encoding == "o200k_base") return o200k_.get();
    return nullptr;
}

const Tokenizer* Tokenizers::ForModel(std::string_view model) const {
    return ByName(EncodingOf(model));
}

}  // namespace llmproxy::usage
