#include "local/certificate_authority.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "local/state_dir.hpp"

namespace dsql::local {
namespace {

constexpr long ca_validity_seconds = 10L * 365 * 24 * 3600;
constexpr long server_validity_seconds = 2L * 365 * 24 * 3600;
constexpr long renew_before_seconds = 30L * 24 * 3600;
// Backdated so that a client whose clock lags a little still accepts a fresh certificate.
constexpr long backdate_seconds = 3600;

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct bn_free {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

[[noreturn]] void fail(const std::string& what) {
  std::string detail;
  if (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail = std::string(": ") + buf;
  }
  ERR_clear_error();
  throw std::runtime_error("certificate setup failed: " + what + detail);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pkey_ptr load_key(const std::string& path) {
  const std::string pem = read_text(path);
  if (pem.empty()) return nullptr;
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return key;
}

x509_ptr load_first_cert(const std::string& path) {
  const std::string pem = read_text(path);
  if (pem.empty()) return nullptr;
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

std::string to_pem(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM encoding of a certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("PEM encoding of a key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

pkey_ptr new_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("generating a P-256 key");
  return key;
}

bool valid_for_a_while(X509* cert) {
  const std::time_t now = std::time(nullptr);
  std::time_t soon = now + renew_before_seconds;
  return X509_cmp_time(X509_get0_notBefore(cert), const_cast<std::time_t*>(&now)) < 0 &&
         X509_cmp_time(X509_get0_notAfter(cert), &soon) > 0;
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) fail("building extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) fail("adding extension " + std::string(OBJ_nid2sn(nid)));
}

x509_ptr new_cert(EVP_PKEY* key, const std::string& common_name, long validity) {
  x509_ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) fail("allocating a certificate");
  // 127 random bits: positive, unique enough that browsers and OpenSSL never see a repeat.
  std::unique_ptr<BIGNUM, bn_free> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    fail("making a serial number");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -backdate_seconds) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity))
    fail("setting the validity period");
  if (X509_set_pubkey(cert.get(), key) != 1) fail("setting the public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto add_entry = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1)
      fail("setting the subject name");
  };
  add_entry("O", "dsql local");
  // Subject CNs are limited to 64 characters.
  add_entry("CN", common_name.substr(0, 64));
  return cert;
}

struct ca_pair {
  pkey_ptr key;
  x509_ptr cert;
};

ca_pair make_ca(const std::string& common_name) {
  ca_pair ca;
  ca.key = new_key();
  ca.cert =
      new_cert(ca.key.get(), "dsql local CA " + common_name.substr(0, 26), ca_validity_seconds);
  if (X509_set_issuer_name(ca.cert.get(), X509_get_subject_name(ca.cert.get())) != 1)
    fail("setting the CA issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.cert.get(), ca.cert.get(), nullptr, nullptr, 0);
  add_ext(ca.cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_ext(ca.cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca.cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(ca.cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256()) == 0) fail("signing the CA certificate");
  return ca;
}

std::string san_value(const certificate_request& req) {
  std::string out;
  for (const auto& dns : req.dns_names) out += (out.empty() ? "" : ",") + ("DNS:" + dns);
  for (const auto& ip : req.ip_addresses) out += (out.empty() ? "" : ",") + ("IP:" + ip);
  return out;
}

x509_ptr make_server_cert(const certificate_request& req, EVP_PKEY* server_key, const ca_pair& ca) {
  x509_ptr cert = new_cert(server_key, req.common_name, server_validity_seconds);
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get())) != 1)
    fail("setting the server certificate issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca.cert.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  add_ext(cert.get(), &ctx, NID_subject_alt_name, san_value(req));
  if (X509_sign(cert.get(), ca.key.get(), EVP_sha256()) == 0)
    fail("signing the server certificate");
  return cert;
}

bool server_cert_usable(X509* cert, EVP_PKEY* key, const certificate_request& req,
                        const ca_pair& ca) {
  if (!cert || !key || !valid_for_a_while(cert)) return false;
  if (X509_check_private_key(cert, key) != 1) return false;
  EVP_PKEY* ca_pub = X509_get0_pubkey(ca.cert.get());
  if (!ca_pub || X509_verify(cert, ca_pub) != 1) return false;
  for (const auto& dns : req.dns_names) {
    if (X509_check_host(cert, dns.c_str(), dns.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                        nullptr) != 1)
      return false;
  }
  for (const auto& ip : req.ip_addresses) {
    if (X509_check_ip_asc(cert, ip.c_str(), 0) != 1) return false;
  }
  ERR_clear_error();
  return true;
}

void log_line(const certificate_request& req, const std::string& line) {
  if (req.log) req.log(line);
}

}  // namespace

tls_files ensure_certificates(const certificate_request& req) {
  std::error_code ec;
  std::filesystem::create_directories(req.tls_dir, ec);
  if (ec) throw std::runtime_error("cannot create " + req.tls_dir + ": " + ec.message());
  // Listing is harmless (the CA certificate is public); the key files carry their own 0600.
  (void)::chmod(req.tls_dir.c_str(), 0755);

  tls_files files{req.tls_dir + "/ca.pem", req.tls_dir + "/server.pem",
                  req.tls_dir + "/server.key"};
  const std::string ca_key_file = req.tls_dir + "/ca.key";

  ca_pair ca{load_key(ca_key_file), load_first_cert(files.ca_file)};
  bool new_ca = false;
  if (!ca.key || !ca.cert || !valid_for_a_while(ca.cert.get()) ||
      X509_check_private_key(ca.cert.get(), ca.key.get()) != 1) {
    ERR_clear_error();
    log_line(req, "creating a local certificate authority in " + req.tls_dir);
    ca = make_ca(req.common_name);
    write_file_atomically(ca_key_file, to_pem(ca.key.get()), 0600);
    write_file_atomically(files.ca_file, to_pem(ca.cert.get()), 0644);
    new_ca = true;
  }

  pkey_ptr server_key = load_key(files.private_key_file);
  x509_ptr server_cert = load_first_cert(files.certificate_file);
  if (!new_ca && server_cert_usable(server_cert.get(), server_key.get(), req, ca)) return files;

  log_line(req, "issuing a server certificate for " + req.common_name);
  server_key = new_key();
  server_cert = make_server_cert(req, server_key.get(), ca);
  // The key goes first so that a crash in between never pairs a new certificate with an old key
  // for long: the mismatch is detected and fixed on the next start.
  write_file_atomically(files.private_key_file, to_pem(server_key.get()), 0600);
  write_file_atomically(files.certificate_file, to_pem(server_cert.get()) + to_pem(ca.cert.get()),
                        0644);
  return files;
}

}  // namespace dsql::local
