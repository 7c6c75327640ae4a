// Fuzzes the token verifier with arbitrary passwords: it must refuse (or accept) without crashing,
// and never accept a token whose signature it did not recompute.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "local/token_verifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> hostnames{
      "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws", "localhost", "127.0.0.1"};
  static const std::vector<dsql::local::identity> identities{
      {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", "arn:aws:iam::1:role/a"},
      {"ASIAEXAMPLE", "secret", "session", "arn:aws:iam::1:role/b"}};
  const std::string password(reinterpret_cast<const char*>(data), size);
  for (const char* user : {"admin", "app"}) {
    dsql::local::verify_input in;
    in.password = password;
    in.user = user;
    in.hostnames = &hostnames;
    in.region = "us-east-1";
    in.identities = &identities;
    in.now = std::chrono::system_clock::from_time_t(1768480496);  // 2026-01-15T12:34:56Z
    const auto r = dsql::local::verify_token(in);
    if (r.ok && r.who == nullptr) __builtin_trap();
  }
  return 0;
}
