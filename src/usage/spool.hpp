#pragma once
// An append-only on-disk queue of JSON lines (usage events waiting for the webhook), with the
// delivered prefix kept in a sidecar offset file so that a restart resumes where it stopped.
// Used by the webhook thread only.
#include <cstdint>
#include <string>
#include <vector>

namespace llmproxy::usage {

class Spool {
public:
    explicit Spool(std::string dir);
    /// Appends events (one JSON object per line) and syncs them to disk.
    bool Append(const std::vector<std::string>& events);
    /// Up to `max` undelivered events, oldest first, starting `skip` bytes past the delivered
    /// ones (the batches before it are in flight); `bytes` is what Advance() takes for them.
    std::vector<std::string> Peek(std::size_t max, std::uint64_t& bytes, std::uint64_t skip = 0);
    void Advance(std::uint64_t bytes);
    /// After a read found nothing where events should be (the file was truncated or replaced by
    /// hand): takes the file as it is now, from its start if it shrank. Returns how many bytes
    /// shorter it is than what was appended (events lost, at most).
    std::uint64_t Resync();
    bool empty() const { return offset_ >= size_; }
    std::uint64_t backlog_bytes() const { return size_ - offset_; }

private:
    void SaveOffset();
    void EndTornLine();
    std::string data_path_, offset_path_;
    std::uint64_t offset_ = 0, size_ = 0;
};

}  // namespace llmproxy::usage
