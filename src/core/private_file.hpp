#pragma once
// Files that hold prompts, completions or usage events (the request log, the webhook spool):
// never readable by other users, whether the gateway creates them or finds them.
#include <string>
#include <sys/types.h>

namespace llmproxy::core {

struct PrivateFile {
    int fd = -1;             // -1: could not open (errno says why)
    bool tightened = false;  // an existing file lost the permissions it gave to other users
};

/// Opens `path` to append, creating it with at most `create_mode` (the umask may take more). A file that
/// already exists keeps its owner and group permissions (an operator may have given a log
/// shipper's group read access) but loses every permission for others.
PrivateFile OpenPrivateAppend(const std::string& path, mode_t create_mode);

}  // namespace llmproxy::core
