#pragma once
// Checks of a request's head that are about HTTP itself, before anything else looks at it:
// framing a proxy must not guess at (request smuggling) and targets that could escape a
// provider's base path once a normalising server behind us resolves them.
#include <optional>
#include <string_view>

#include "core/error_reply.hpp"
#include "http/head_memory.hpp"

namespace llmproxy {

/// Transfer-Encoding other than exactly `chunked` → 501 (its bytes would otherwise be taken as
/// the next request); HTTP/1.1 without exactly one Host → 400; a target with dot segments,
/// encoded slashes, backslashes or empty segments → 400.
/// The refusal, if any (the connection closes after it).
std::optional<core::LocalReply> CheckRequestHead(const http::request_header<HeadFields>& head);

/// The path of a target is safe to append to a provider's base path: no `.`/`..` segment (also
/// percent-encoded, or followed by a `;param`), no encoded `/` or `\`, no `\`, no empty segment (`//`).
bool IsSafeTargetPath(std::string_view path);

}  // namespace llmproxy
