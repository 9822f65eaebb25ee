#pragma once
// What went wrong with an upstream, in the gateway's words: the error a client gets when
// nothing was relayed yet, the reason a started response was cut (access log, in-band error
// event), and which failures are the provider's, the gateway's or the protocol's.
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/error_reply.hpp"
#include "http/asio_types.hpp"

namespace llmproxy::stages {

// Reasons to give up on an upstream's answer that are not I/O errors.
extern const error_code kDeadlinePassed;
extern const error_code kUnexpectedUpgrade;
extern const error_code kTooManyInterim;
extern const error_code kInvalidStatus;
extern const error_code kBodyTooLarge;  // a body to rewrite over its cap

bool IsTimeout(const error_code& ec);
/// Errors of this host, not of the upstream: out of descriptors, buffer space, memory, ports.
bool IsLocalResourceError(const error_code& ec);
/// The upstream's bytes are not HTTP we accept: its fault, but not a connection failure to retry.
bool IsProtocolError(const error_code& ec);
/// A reused keep-alive connection the upstream had closed before it answered.
bool IsStaleKeepAliveError(const error_code& ec);

/// The error for a failure before anything reached the client.
core::LocalReply UpstreamError(const error_code& ec, const core::ProviderConfig& p, bool connecting);
/// Why a started response ended early (access log, stream error event): a static string.
std::string_view CutReason(const error_code& ec);
/// The error told in-band when a started stream is cut.
core::LocalReply StreamCutError(const error_code& ec);

}  // namespace llmproxy::stages
