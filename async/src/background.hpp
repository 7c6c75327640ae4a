#pragma once

// Where the asynchronous adapter puts work that may block, so that it never runs on a user's
// executor.

#include "dsql/async/net.hpp"

typedef struct pg_conn PGconn;

namespace dsql::detail {

// A small pool of the library's own threads for credential resolution (files,
// credential_process, IMDS, STS) and configuration files. Lives until the process exits.
net::any_io_executor blocking_executor();

// Another, for libpq's connect steps: they never wait, but a TLS handshake with OpenSSL 3 costs
// about a millisecond and a half of CPU, and a burst of connects run on the caller's thread
// would hold up its event loop for that long each. Kept apart from the blocking pool so that a
// slow credential source does not hold up handshakes.
net::any_io_executor compute_executor();

// Asks the server to cancel `conn`'s running statement. PQcancel blocks (it opens a connection
// of its own) and libpq 15 has no non-blocking form, so it runs on a short-lived thread of its
// own; a few at most at a time, the rest are skipped (the caller closes the connection anyway).
void send_cancel_request(PGconn* conn) noexcept;

}  // namespace dsql::detail
