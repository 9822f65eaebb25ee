#pragma once
// A tiktoken-compatible byte-pair-encoding tokenizer (cl100k_base, o200k_base): the encoding's
// split regex (PCRE2, JIT-compiled) cuts text into pieces, each piece is a token itself or is
// merged from its bytes by lowest rank, exactly as tiktoken's encode_ordinary does. Used to
// count tokens when an upstream reports no usage, for TPM estimates, and by /v1/tokenize.
// Immutable after loading; safe to use from every worker at once.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmproxy::usage {

class Tokenizer {
public:
    /// Loads a tiktoken encoder file (encoders/<name>.json of the npm `tiktoken` package:
    /// pat_str, special_tokens, bpe_ranks). Throws std::runtime_error.
    static std::unique_ptr<Tokenizer> LoadFile(const std::string& path, std::string name);
    static std::unique_ptr<Tokenizer> LoadJson(std::string_view json, std::string name);
    ~Tokenizer();

    std::vector<std::uint32_t> Encode(std::string_view text) const;
    std::size_t Count(std::string_view text) const;
    /// The bytes of `tokens` (unknown ids are skipped).
    std::string Decode(const std::vector<std::uint32_t>& tokens) const;
    const std::string& name() const { return name_; }
    std::size_t vocabulary_size() const { return vocabulary_; }

private:
    Tokenizer() = default;
    struct Impl;
    // Calls `emit(rank)` for every token of `text`.
    template <class Emit>
    void ForEachToken(std::string_view text, Emit&& emit) const;

    std::string name_;
    std::size_t vocabulary_ = 0;
    std::unique_ptr<Impl> impl_;
};

/// tiktoken's model -> encoding table (prefixes): o200k_base for gpt-4o, gpt-4.1, gpt-4.5,
/// gpt-5, o1/o3/o4 and their dated/fine-tuned variants; cl100k_base for gpt-4, gpt-3.5 and
/// the text-embedding models. Other models (open weights served by vLLM/TGI/Ollama) get
/// `fallback`: an estimate, since their own tokenizers differ.
std::string_view EncodingForModel(std::string_view model, std::string_view fallback = "cl100k_base");

}  // namespace llmproxy::usage
