#pragma once
// PostgreSQL's LISTEN/NOTIFY for the store's change triggers (schema step 4): every instance
// sharing the database hears of a key, provider or route change the moment it commits, instead
// of at its next poll. Its own connection, held by the sync thread, which waits on fd().
#include <memory>
#include <string>
#include <vector>

namespace llmproxy::store {

class ChangeFeed {
public:
    virtual ~ChangeFeed() = default;
    /// The socket to wait on for readability; -1 while disconnected (then call Reconnect).
    virtual int fd() const = 0;
    /// Reads what arrived and returns the notifications' payloads ("keys", "config"). A broken
    /// connection returns {"lost"}: the caller cannot know what it missed and reloads all.
    virtual std::vector<std::string> Drain() = 0;
    /// Connects again and LISTENs; false while the server is unreachable.
    virtual bool Reconnect() = 0;
};

/// A feed for postgres:// URLs (connected and listening); null for anything else.
std::unique_ptr<ChangeFeed> OpenChangeFeed(const std::string& url);

}  // namespace llmproxy::store
