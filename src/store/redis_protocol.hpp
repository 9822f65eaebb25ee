#pragma once
// RESP framing for the async Redis client: commands are written by us (a few lines), replies
// are parsed by hiredis's reader (a well-kept, fuzzed parser).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace llmproxy::store {

/// What a command returned, flattened: enough for our scripts (integers, arrays of integers,
/// status/bulk strings).
struct RedisReply {
    enum class Kind { kNone, kError, kInteger, kString, kArray, kNil };
    Kind kind = Kind::kNone;
    std::int64_t integer = 0;
    std::string text;                    // error message, status or bulk string
    std::vector<std::int64_t> integers;  // array elements that are integers (others as 0)
    std::vector<std::string> strings;    // array elements that are strings (others as ""); empty if none is
    /// An error for a command that was sent but not answered (timeout, connection lost): it may
    /// still run, or have run. False when the command never left (not connected, breaker open).
    bool outcome_unknown = false;
    bool ok() const { return kind != Kind::kNone && kind != Kind::kError; }
};

/// Appends `*N\r\n$len\r\narg\r\n...` to `out`.
void AppendCommand(std::string& out, const std::vector<std::string>& args);

/// Incremental reply parser.
class RedisReplyParser {
public:
    RedisReplyParser();
    ~RedisReplyParser();
    RedisReplyParser(const RedisReplyParser&) = delete;
    RedisReplyParser& operator=(const RedisReplyParser&) = delete;

    /// Adds bytes read from the socket; false on a protocol error (the connection is unusable).
    bool Feed(std::string_view bytes);
    /// The next complete reply, if any: 1 = got one, 0 = need more bytes, -1 = protocol error.
    int Next(RedisReply& out);

private:
    redisReader* reader_;
};

/// Hex SHA-1 of a script, as EVALSHA names it.
std::string ScriptSha1(std::string_view script);

}  // namespace llmproxy::store
