#pragma once

// The one way user-supplied text (hosts, users, profile names, paths, URIs, file contents, a
// helper's or a server's words) goes into an error message or onto the terminal. Escaped, it
// cannot forge a log line or drive the terminal; truncated, a 10,000-character value does not
// bury the message.

#include <cstddef>
#include <string>
#include <string_view>

namespace dsql::util {

enum class whitespace {
  escape,    // \n, \r and \t are shown as such: a value is quoted as it is
  collapse,  // runs of whitespace become one space, trimmed: prose such as a helper's stderr
};

// Control characters (C0, DEL, C1), bidirectional overrides, line separators and invalid UTF-8
// become \n, \r, \t, \xNN or \uNNNN; everything else, UTF-8 included, is kept. Longer results
// are cut at `max_chars` bytes (never inside an escape or a character) and end with "...".
// Backslashes are not doubled, so applying it twice changes nothing: it is for display only.
std::string printable(std::string_view text, std::size_t max_chars = 200,
                      whitespace ws = whitespace::escape);

// printable(text) in single quotes, the way messages quote a value: 'dev'.
std::string quoted(std::string_view text);

}  // namespace dsql::util
