#include "core/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace llmproxy::core {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
    std::string s(text);
    IpAddress ip;
    in_addr v4;
    if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        ip.bytes[10] = ip.bytes[11] = 0xff;
        std::memcpy(&ip.bytes[12], &v4, 4);
        return ip;
    }
    in6_addr v6;
    if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
        std::memcpy(ip.bytes.data(), &v6, 16);
        return ip;
    }
    return std::nullopt;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
    auto slash = text.find('/');
    auto ip = IpAddress::Parse(text.substr(0, slash));
    if (!ip) return std::nullopt;
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    Cidr c;
    c.bytes = ip->bytes;
    c.prefix = 128;
    if (slash != std::string_view::npos) {
        int bits = -1;
        auto digits = text.substr(slash + 1);
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
        if (ec != std::errc() || p != digits.data() + digits.size() || bits < 0 || bits > (v4 ? 32 : 128)) {
            return std::nullopt;
        }
        c.prefix = v4 ? 96 + bits : bits;
    }
    return c;
}

bool Cidr::Contains(const IpAddress& ip) const {
    int full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(bytes.data(), ip.bytes.data(), static_cast<std::size_t>(full)) != 0) return false;
    if (rest == 0) return true;
    std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (bytes[full] & mask) == (ip.bytes[full] & mask);
}

bool AnyContains(const std::vector<Cidr>& ranges, const IpAddress& ip) {
    for (const auto& r : ranges) {
        if (r.Contains(ip)) return true;
    }
    return false;
}

}  // namespace llmproxy::core
