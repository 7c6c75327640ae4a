#include "util/secret.hpp"

#include <openssl/crypto.h>

namespace dsql::util {

void wipe(std::string& s) noexcept {
  OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace dsql::util
