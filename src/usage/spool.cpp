#include "usage/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/private_file.hpp"

namespace llmproxy::usage {

Spool::Spool(std::string dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    data_path_ = dir + "/usage.jsonl";
    offset_path_ = dir + "/usage.offset";
    size_ = std::filesystem::exists(data_path_, ec) ? std::filesystem::file_size(data_path_, ec) : 0;
    std::ifstream in(offset_path_);
    if (!(in >> offset_)) offset_ = 0;
    if (offset_ > size_) offset_ = size_;
    EndTornLine();
}

// A crash (or a full disk) in the middle of an append leaves a last line without its newline:
// end it, so that it stays one unparsable line (quarantined when read) instead of swallowing
// the next event appended.
void Spool::EndTornLine() {
    if (size_ == 0) return;
    std::ifstream data(data_path_, std::ios::binary);
    data.seekg(static_cast<std::streamoff>(size_ - 1));
    char last = '\n';
    if (!data.get(last) || last == '\n') return;
    const int fd = core::OpenPrivateAppend(data_path_, 0600).fd;
    if (fd < 0) return;
    if (::write(fd, "\n", 1) == 1) ++size_;
    ::close(fd);
}

bool Spool::Append(const std::vector<std::string>& events) {
    if (events.empty()) return true;
    const int fd = core::OpenPrivateAppend(data_path_, 0600).fd;  // usage events carry request bodies
    if (fd < 0) return false;
    std::string buf;
    for (const auto& e : events) {
        buf += e;
        buf += '\n';
    }
    bool ok = ::write(fd, buf.data(), buf.size()) == static_cast<ssize_t>(buf.size());
    ok = ok && ::fdatasync(fd) == 0;  // the point of a spool: still there after a crash
    // A short write (disk full) leaves part of an event: cut it off, so the events stay whole
    // and the file agrees with size_ (they are kept in memory and appended again later).
    if (!ok && ::ftruncate(fd, static_cast<off_t>(size_)) != 0) EndTornLine();
    ::close(fd);
    if (ok) size_ += buf.size();
    return ok;
}

std::vector<std::string> Spool::Peek(std::size_t max, std::uint64_t& bytes, std::uint64_t skip) {
    std::vector<std::string> out;
    bytes = 0;
    if (offset_ + skip >= size_) return out;
    std::ifstream in(data_path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset_ + skip));
    std::string line;
    while (out.size() < max && std::getline(in, line)) {
        bytes += line.size() + 1;
        if (!line.empty()) out.push_back(std::move(line));
    }
    return out;
}

void Spool::Advance(std::uint64_t bytes) {
    offset_ += bytes;
    if (offset_ >= size_) {  // all delivered: start afresh
        std::error_code ec;
        std::filesystem::resize_file(data_path_, 0, ec);
        offset_ = size_ = 0;
    }
    SaveOffset();
}

std::uint64_t Spool::Resync() {
    std::error_code ec;
    const std::uint64_t actual =
        std::filesystem::exists(data_path_, ec) ? std::filesystem::file_size(data_path_, ec) : 0;
    const std::uint64_t lost = size_ > actual ? size_ - actual : 0;
    if (actual < size_) offset_ = 0;  // it shrank: a different file now, all of it undelivered
    size_ = actual;
    SaveOffset();
    return lost;
}

void Spool::SaveOffset() {
    const std::string tmp = offset_path_ + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << offset_;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, offset_path_, ec);  // atomic replace
}

}  // namespace llmproxy::usage
