#include "util/random_id.hpp"

#include <openssl/rand.h>

#include "dsql/errors.hpp"
#include "sigv4/sigv4.hpp"

namespace dsql::util {

std::string random_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw error("no random bytes from OpenSSL");
  return sigv4::to_hex(bytes, sizeof bytes);
}

}  // namespace dsql::util
