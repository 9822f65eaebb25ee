// Tokenizer on arbitrary bytes: never crashes or stalls, Count agrees with Encode, and for
// valid UTF-8 (what tiktoken accepts) decoding the tokens gives back the input exactly.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "usage/tokenizer.hpp"

using llmproxy::usage::Tokenizer;

namespace {

bool ValidUtf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (n < 0 || i + n >= s.size() + (n == 0 ? 1 : 0)) return false;
        std::uint32_t cp = n == 0 ? c : c & (0x3F >> n);
        for (int k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d >> 6) != 2) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += static_cast<std::size_t>(n) + 1;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto cl = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/cl100k_base.json", "cl100k_base");
    static auto o2 = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/o200k_base.json", "o200k_base");
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const Tokenizer* t : {cl.get(), o2.get()}) {
        const auto ids = t->Encode(text);
        if (t->Count(text) != ids.size()) std::abort();
        if (ValidUtf8(text) && t->Decode(ids) != text) std::abort();
    }
    return 0;
}
