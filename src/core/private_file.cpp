#include "core/private_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace llmproxy::core {

PrivateFile OpenPrivateAppend(const std::string& path, mode_t create_mode) {
    PrivateFile out;
    out.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, create_mode);
    if (out.fd < 0) return out;
    struct stat st {};
    if (::fstat(out.fd, &st) != 0) return out;
    // A new file got create_mode minus the umask: nothing to tighten beyond that. An old one
    // may be world-readable (created by hand, or by an older version).
    if ((st.st_mode & S_IRWXO) != 0 && ::fchmod(out.fd, st.st_mode & (S_IRWXU | S_IRWXG)) == 0) out.tightened = true;
    return out;
}

}  // namespace llmproxy::core
