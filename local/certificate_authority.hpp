#pragma once

// The local CA and the server certificate `dsql local` presents, made with OpenSSL and kept in
// DIR/tls so that clients can keep trusting the same CA file across restarts.

#include <functional>
#include <string>
#include <vector>

namespace dsql::local {

struct certificate_request {
  std::string tls_dir;                    // DIR/tls; created when missing
  std::string common_name;                // the DSQL-shaped endpoint name
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries (v4 or v6 text)
  // Progress lines for the user; never contain key material.
  std::function<void(const std::string&)> log;
};

struct tls_files {
  std::string ca_file;           // DIR/tls/ca.pem: what clients pass as sslrootcert
  std::string certificate_file;  // DIR/tls/server.pem: server certificate, then the CA
  std::string private_key_file;  // DIR/tls/server.key, mode 0600
};

// Reuses the CA and the server certificate when they are valid for at least 30 more days and the
// server certificate still matches the requested names and the CA; otherwise makes new ones
// (a new CA only when the old one is unusable, since clients pin it). Throws std::runtime_error.
tls_files ensure_certificates(const certificate_request& request);

}  // namespace dsql::local
