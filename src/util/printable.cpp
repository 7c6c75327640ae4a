#include "util/printable.hpp"

#include <cstdint>

namespace dsql::util {
namespace {

const char* hex = "0123456789abcdef";

std::string byte_escape(unsigned char c) {
  return std::string("\\x") + hex[c >> 4] + hex[c & 15];
}

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Length of the valid UTF-8 sequence at s[i] and its code point; 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2, cp = lead & 0x1fu, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3, cp = lead & 0x0fu, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3fu);
  }
  const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
  return cp < min || cp > 0x10ffff || surrogate ? 0 : n;
}

// C1 controls, bidirectional marks and overrides, and line and paragraph separators: harmless
// looking characters that terminals or viewers act on.
bool invisible_control(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string code_point_escape(std::uint32_t cp) {
  std::string out = "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 15];
  return out;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_chars, whitespace ws) {
  std::string out;
  out.reserve(text.size() < max_chars ? text.size() : max_chars + 3);
  bool pending_space = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::string unit;
    std::size_t used = 1;
    if (ws == whitespace::collapse && is_space(c)) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (c == '\n') {
      unit = "\\n";
    } else if (c == '\r') {
      unit = "\\r";
    } else if (c == '\t') {
      unit = "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      unit = byte_escape(c);
    } else if (c < 0x80) {
      unit = std::string(1, static_cast<char>(c));
    } else {
      std::uint32_t cp = 0;
      used = utf8_sequence(text, i, cp);
      if (used == 0) {
        used = 1;
        unit = byte_escape(c);
      } else if (invisible_control(cp)) {
        unit = code_point_escape(cp);
      } else {
        unit = std::string(text.substr(i, used));
      }
    }
    const std::size_t space = pending_space ? 1 : 0;
    if (out.size() + space + unit.size() > max_chars) {
      out += "...";
      return out;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += unit;
    i += used;
  }
  return out;
}

std::string quoted(std::string_view text) {
  return "'" + printable(text) + "'";
}

}  // namespace dsql::util
