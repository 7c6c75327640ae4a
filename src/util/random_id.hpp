#pragma once

// Random identifiers (lock owners, load ids): 128 bits from OpenSSL's generator, as 32 hex digits.

#include <string>

namespace dsql::util {

std::string random_id();

}  // namespace dsql::util
