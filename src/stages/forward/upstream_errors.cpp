#include "stages/forward/upstream_errors.hpp"

#include <boost/system/errc.hpp>

namespace llmproxy::stages {

const error_code kDeadlinePassed = make_error_code(boost::system::errc::timed_out);
const error_code kUnexpectedUpgrade = make_error_code(boost::system::errc::protocol_error);
const error_code kTooManyInterim = make_error_code(boost::system::errc::bad_message);
const error_code kInvalidStatus = make_error_code(boost::system::errc::illegal_byte_sequence);
const error_code kBodyTooLarge = make_error_code(boost::system::errc::file_too_large);

bool IsTimeout(const error_code& ec) {
    return ec == beast::error::timeout || ec == asio::error::timed_out;
}

bool IsLocalResourceError(const error_code& ec) {
    namespace errc = boost::system::errc;
    return ec == asio::error::no_descriptors || ec == errc::too_many_files_open_in_system ||
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory || ec == errc::address_not_available;
}

bool IsProtocolError(const error_code& ec) {
    if (ec == kUnexpectedUpgrade || ec == kTooManyInterim || ec == kInvalidStatus || ec == kBodyTooLarge) return true;
    if (ec.category() != http::make_error_code(http::error::bad_version).category()) return false;
    return ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::need_more &&
           ec != http::error::need_buffer;
}

bool IsStaleKeepAliveError(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

namespace {

std::string ProtocolErrorText(const error_code& ec) {
    if (ec == kUnexpectedUpgrade) return "switched protocols (101) unasked";
    if (ec == kTooManyInterim) return "sent too many interim (1xx) responses";
    if (ec == kInvalidStatus) return "answered with a status outside 100-599";
    if (ec == kBodyTooLarge) return "sent a body too large to translate (server.max_translated_body)";
    if (ec == http::error::header_limit) return "sent response headers over the limit (server.max_header_bytes)";
    if (ec == http::error::buffer_overflow) return "sent a chunk size line or trailer without end";
    return "sent a malformed HTTP response (" + ec.message() + ")";
}

}  // namespace

core::LocalReply UpstreamError(const error_code& ec, const core::ProviderConfig& p, bool connecting) {
    core::LocalReply r;
    r.type = "upstream_error";
    if (!connecting && IsProtocolError(ec)) {
        r.status = 502;
        r.code = "upstream_protocol_error";
        r.message = std::string("upstream provider '") + p.name + "' " + ProtocolErrorText(ec);
    } else if (IsTimeout(ec)) {
        r.status = 504;
        r.code = "upstream_timeout";
        r.message = std::string("upstream provider '") + p.name + "' timed out" +
                    (connecting ? " while connecting" : " before responding");
    } else {
        r.status = 502;
        r.code = connecting ? "upstream_unreachable" : "upstream_error";
        r.message = std::string("upstream provider '") + p.name + "' " +
                    (connecting ? "is unreachable: " : "failed: ") + ec.message();
    }
    return r;
}

std::string_view CutReason(const error_code& ec) {
    if (ec == kDeadlinePassed) return "request_timeout";
    if (IsTimeout(ec)) return "upstream_idle_timeout";
    if (IsProtocolError(ec)) return "upstream_protocol_error";
    return "upstream_stream_interrupted";
}

core::LocalReply StreamCutError(const error_code& ec) {
    core::LocalReply r;
    r.status = ec == kDeadlinePassed ? 504 : 502;
    r.type = ec == kDeadlinePassed ? "timeout_error" : "upstream_error";
    r.code = CutReason(ec);
    if (ec == kDeadlinePassed) {
        r.message =
            "the request reached its time limit (timeouts.total or x-llm-proxy-timeout); the stream is incomplete";
    } else if (IsTimeout(ec)) {
        r.message = "the upstream stopped sending data (idle timeout); the stream is incomplete";
    } else {
        r.message = "the upstream connection broke mid-stream (" + ec.message() + "); the stream is incomplete";
    }
    return r;
}

}  // namespace llmproxy::stages
