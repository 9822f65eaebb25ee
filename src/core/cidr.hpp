#pragma once
// IPv4/IPv6 CIDR ranges for allowed_ips and trusted_proxies. IPv4-mapped IPv6 addresses
// (::ffff:10.0.0.1, what a dual-stack socket reports) match IPv4 ranges.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmproxy::core {

struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
    static std::optional<IpAddress> Parse(std::string_view text);
};

struct Cidr {
    std::array<std::uint8_t, 16> bytes{};
    int prefix = 128;  // over the 128-bit (mapped) form
    /// "10.0.0.0/8", "2001:db8::/32", or a single address.
    static std::optional<Cidr> Parse(std::string_view text);
    bool Contains(const IpAddress& ip) const;
};

bool AnyContains(const std::vector<Cidr>& ranges, const IpAddress& ip);

}  // namespace llmproxy::core
