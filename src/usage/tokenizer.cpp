#define PCRE2_CODE_UNIT_WIDTH 8
#include "usage/tokenizer.hpp"

#include <pcre2.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <queue>
#include <sstream>
#include <stdexcept>

#include <boost/json.hpp>

namespace llmproxy::usage {
namespace {

constexpr std::uint32_t kNoRank = std::numeric_limits<std::uint32_t>::max();

// Token bytes -> rank, open addressing over one contiguous byte buffer: ~12 bytes per slot
// instead of a node-based map's ~80 (o200k has 200k tokens).
class RankTable {
public:
    void Build(std::vector<std::pair<std::string, std::uint32_t>> tokens) {
        std::uint32_t max_rank = 0;
        for (const auto& t : tokens) max_rank = std::max(max_rank, t.second);
        by_rank_.assign(static_cast<std::size_t>(max_rank) + 1, kNoRank);
        // Load factor 2/3, any capacity (not a power of two): a third of the memory of
        // rounding up, with short probe runs still.
        slots_.assign(tokens.size() * 3 / 2 + 1, Slot{});
        for (auto& [bytes, rank] : tokens) {
            Slot s{static_cast<std::uint32_t>(bytes_.size()), static_cast<std::uint32_t>(bytes.size()), rank};
            bytes_ += bytes;
            std::size_t i = Home(bytes);
            while (slots_[i].rank != kNoRank) i = i + 1 == slots_.size() ? 0 : i + 1;
            slots_[i] = s;
            by_rank_[rank] = static_cast<std::uint32_t>(i);
        }
    }

    std::string_view Bytes(std::uint32_t rank) const {
        if (rank >= by_rank_.size() || by_rank_[rank] == kNoRank) return {};
        const Slot& s = slots_[by_rank_[rank]];
        return {bytes_.data() + s.offset, s.length};
    }

    std::uint32_t Find(std::string_view bytes) const {
        std::size_t i = Home(bytes);
        for (;;) {
            const Slot& s = slots_[i];
            if (s.rank == kNoRank) return kNoRank;
            if (s.length == bytes.size() && std::string_view(bytes_.data() + s.offset, s.length) == bytes)
                return s.rank;
            i = i + 1 == slots_.size() ? 0 : i + 1;
        }
    }

private:
    struct Slot {
        std::uint32_t offset = 0, length = 0, rank = kNoRank;
    };
    // FNV-1a with a final mix, mapped onto [0, size) by a multiply-shift (no modulo).
    std::size_t Home(std::string_view s) const {
        std::uint64_t h = 1469598103934665603ull;
        for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
        h ^= h >> 29;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 32;
        return static_cast<std::size_t>((static_cast<unsigned __int128>(h) * slots_.size()) >> 64);
    }
    std::string bytes_;
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> by_rank_;  // rank -> slot, for Decode
};

std::string Base64Decode(std::string_view in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : in) {
        const int v = value(c);
        if (v < 0) continue;  // '=' padding
        buffer = (buffer << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
        }
    }
    return out;
}

// Merges a piece's bytes by lowest pair rank (tiktoken's byte_pair_merge). `parts` holds the
// start offsets of the current parts; each merge joins two neighbours. Short pieces (almost
// all) use the plain quadratic scan; long ones a heap so that a megabyte without a space
// cannot stall a worker.
template <class Emit>
void MergeSmall(const RankTable& ranks, std::string_view piece, Emit& emit) {
    struct Part {
        std::size_t start;
        std::uint32_t rank;  // rank of the pair starting here (kNoRank: none)
    };
    std::vector<Part> parts;
    parts.reserve(piece.size() + 1);
    for (std::size_t i = 0; i <= piece.size(); ++i) parts.push_back({i, kNoRank});
    auto pair_rank = [&](std::size_t i) -> std::uint32_t {
        if (i + 2 >= parts.size()) return kNoRank;
        return ranks.Find(piece.substr(parts[i].start, parts[i + 2].start - parts[i].start));
    };
    for (std::size_t i = 0; i + 2 < parts.size(); ++i) parts[i].rank = pair_rank(i);
    for (;;) {
        std::uint32_t best = kNoRank;
        std::size_t at = 0;
        for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
            if (parts[i].rank < best) {
                best = parts[i].rank;
                at = i;
            }
        }
        if (best == kNoRank) break;
        parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(at) + 1);
        parts[at].rank = pair_rank(at);
        if (at > 0) parts[at - 1].rank = pair_rank(at - 1);
    }
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        emit(ranks.Find(piece.substr(parts[i].start, parts[i + 1].start - parts[i].start)));
    }
}

template <class Emit>
void MergeLarge(const RankTable& ranks, std::string_view piece, Emit& emit) {
    const std::size_t n = piece.size();
    constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
    // Parts as a linked list of start offsets; next[i] == n marks the last part.
    std::vector<std::size_t> next(n), prev(n);
    std::vector<char> alive(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        next[i] = i + 1;
        prev[i] = i == 0 ? kNone : i - 1;
    }
    // (rank, part, end of the pair when queued): an entry whose pair has changed since is
    // stale and skipped. Equal ranks pop leftmost first, as tiktoken's scan picks them.
    using Entry = std::tuple<std::uint32_t, std::size_t, std::size_t>;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    auto push = [&](std::size_t i) {
        if (next[i] >= n) return;
        const std::size_t end = next[next[i]];
        const std::uint32_t r = ranks.Find(piece.substr(i, end - i));
        if (r != kNoRank) heap.emplace(r, i, end);
    };
    for (std::size_t i = 0; i + 1 < n; ++i) push(i);
    while (!heap.empty()) {
        const auto [r, i, end] = heap.top();
        heap.pop();
        if (!alive[i] || next[i] >= n || next[next[i]] != end) continue;
        const std::size_t j = next[i];
        alive[j] = 0;
        next[i] = next[j];
        if (next[j] < n) prev[next[j]] = i;
        push(i);
        if (prev[i] != kNone) push(prev[i]);
    }
    for (std::size_t i = 0; i < n; i = next[i]) emit(ranks.Find(piece.substr(i, next[i] - i)));
}

}  // namespace

struct Tokenizer::Impl {
    RankTable ranks;
    pcre2_code* regex = nullptr;
    ~Impl() { pcre2_code_free(regex); }
};

Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::LoadFile(const std::string& path, std::string name) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("tokenizer: cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return LoadJson(ss.str(), std::move(name));
}

std::unique_ptr<Tokenizer> Tokenizer::LoadJson(std::string_view json, std::string name) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(json, ec);
    if (ec || !doc.is_object()) throw std::runtime_error("tokenizer: " + name + ": not a tiktoken encoder file");
    const auto& obj = doc.as_object();
    const auto* pattern = obj.if_contains("pat_str");
    const auto* ranks = obj.if_contains("bpe_ranks");
    if (!pattern || !pattern->is_string() || !ranks || !ranks->is_string()) {
        throw std::runtime_error("tokenizer: " + name + ": pat_str or bpe_ranks missing");
    }
    // bpe_ranks: "! <offset> <base64 token> <base64 token> ..." groups; ranks count up from
    // each group's offset.
    std::vector<std::pair<std::string, std::uint32_t>> tokens;
    std::string_view text(ranks->as_string().data(), ranks->as_string().size());
    std::uint32_t rank = 0;
    bool expect_offset = false;
    while (!text.empty()) {
        const auto space = text.find_first_of(" \n");
        std::string_view word = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
        if (word.empty()) continue;
        if (word == "!") {
            expect_offset = true;
        } else if (expect_offset) {
            rank = static_cast<std::uint32_t>(std::stoul(std::string(word)));
            expect_offset = false;
        } else {
            tokens.emplace_back(Base64Decode(word), rank++);
        }
    }
    if (tokens.size() < 256) throw std::runtime_error("tokenizer: " + name + ": too few ranks");
    auto t = std::unique_ptr<Tokenizer>(new Tokenizer());
    t->name_ = std::move(name);
    t->vocabulary_ = tokens.size();
    t->impl_ = std::make_unique<Impl>();
    t->impl_->ranks.Build(std::move(tokens));
    int error = 0;
    PCRE2_SIZE offset = 0;
    const auto& pat = pattern->as_string();
    t->impl_->regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset, nullptr);
    if (!t->impl_->regex) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(error, msg, sizeof msg);
        throw std::runtime_error("tokenizer: " + t->name_ + ": pattern: " + reinterpret_cast<char*>(msg));
    }
    pcre2_jit_compile(t->impl_->regex, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    return t;
}

template <class Emit>
void Tokenizer::ForEachToken(std::string_view text, Emit&& emit) const {
    // Match data per thread: the compiled pattern is shared, match state is not.
    thread_local std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match(
        pcre2_match_data_create(1, nullptr), pcre2_match_data_free);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    PCRE2_SIZE at = 0;
    while (at < text.size()) {
        const int rc = pcre2_match(impl_->regex, subject, text.size(), at, 0, match.get(), nullptr);
        if (rc < 0) break;  // no more pieces (or bytes the pattern cannot match: not counted)
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
        if (ov[1] == ov[0]) {  // an empty match: step over one byte
            at = ov[1] + 1;
            continue;
        }
        const std::string_view piece = text.substr(ov[0], ov[1] - ov[0]);
        at = ov[1];
        if (const std::uint32_t r = impl_->ranks.Find(piece); r != kNoRank) {
            emit(r);
        } else if (piece.size() < 256) {
            MergeSmall(impl_->ranks, piece, emit);
        } else {
            MergeLarge(impl_->ranks, piece, emit);
        }
    }
}

std::vector<std::uint32_t> Tokenizer::Encode(std::string_view text) const {
    std::vector<std::uint32_t> out;
    ForEachToken(text, [&](std::uint32_t r) { out.push_back(r); });
    return out;
}

std::string Tokenizer::Decode(const std::vector<std::uint32_t>& tokens) const {
    std::string out;
    for (std::uint32_t t : tokens) out.append(impl_->ranks.Bytes(t));
    return out;
}

std::size_t Tokenizer::Count(std::string_view text) const {
    std::size_t n = 0;
    ForEachToken(text, [&](std::uint32_t) { ++n; });
    return n;
}

std::string_view EncodingForModel(std::string_view model, std::string_view fallback) {
    // Provider prefixes ("openai/gpt-4o") do not change the tokenizer.
    if (auto slash = model.rfind('/'); slash != std::string_view::npos) model = model.substr(slash + 1);
    static constexpr std::string_view kO200k[] = {"gpt-4o", "gpt-4.1", "gpt-4.5",    "gpt-5",   "o1",
                                                  "o3",     "o4",      "chatgpt-4o", "gpt-oss", "ft:gpt-4o"};
    static constexpr std::string_view kCl100k[] = {
        "gpt-4",    "gpt-3.5",    "gpt-35",      "text-embedding-3", "text-embedding-ada-002",
        "ft:gpt-4", "ft:gpt-3.5", "davinci-002", "babbage-002"};
    for (auto p : kO200k) {
        if (model.starts_with(p)) return "o200k_base";
    }
    for (auto p : kCl100k) {
        if (model.starts_with(p)) return "cl100k_base";
    }
    return fallback;
}

}  // namespace llmproxy::usage
