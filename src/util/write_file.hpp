#pragma once

// The one way the library writes a file: the token caches it refreshes (~/.aws/login/cache,
// ~/.aws/sso/cache), which the AWS CLI and SDKs read and write too. A reader must never see
// half a file, and a secret must never sit in a file others can read.

#include <string>

namespace dsql::util {

// Replaces `path` with `contents` as botocore's JSONFileCache does: a new file in the same
// directory (created 0600, whatever the umask and whatever the old file's mode), written and
// fsynced, then renamed over `path`. A symlink at `path` is replaced, not followed. Throws
// dsql::credentials_error "<what> <path> cannot be written: <problem>; <fix>" and leaves no
// temporary file behind.
void write_file_atomically(const std::string& path, const std::string& contents,
                           const std::string& what, const std::string& fix);

}  // namespace dsql::util
