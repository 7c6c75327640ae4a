#pragma once

// Reading libpg_query's JSON parse trees: absent fields are PostgreSQL's defaults (false, 0,
// empty), nodes are {"NodeName": {fields}}, names are lists of {"String": {"sval": ...}}.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dsql::detail {

// A field, or null when absent.
inline const nlohmann::json& field(const nlohmann::json& node, const char* name) {
  static const nlohmann::json null;
  if (!node.is_object()) return null;
  const auto it = node.find(name);
  return it == node.end() ? null : *it;
}

inline const nlohmann::json* child(const nlohmann::json& node, const char* name) {
  const nlohmann::json& f = field(node, name);
  return f.is_null() ? nullptr : &f;
}

// A list field, or an empty array.
inline const nlohmann::json& list(const nlohmann::json& node, const char* name) {
  static const nlohmann::json empty = nlohmann::json::array();
  const nlohmann::json& f = field(node, name);
  return f.is_array() ? f : empty;
}

// A string field, or empty.
inline std::string text(const nlohmann::json& node, const char* name) {
  const nlohmann::json& f = field(node, name);
  return f.is_string() ? f.get<std::string>() : std::string();
}

// A boolean field; absent is false.
inline bool flag(const nlohmann::json& node, const char* name) {
  const nlohmann::json& f = field(node, name);
  return f.is_boolean() && f.get<bool>();
}

// The name of a node {"Name": {...}}, or empty.
inline std::string node_name(const nlohmann::json& node) {
  return node.is_object() && node.size() == 1 ? node.begin().key() : std::string();
}

// {"String": {"sval": "x"}} as "x"; empty for anything else.
inline std::string string_value(const nlohmann::json& node) {
  return text(field(node, "String"), "sval");
}

inline std::vector<std::string> string_list(const nlohmann::json& node, const char* name) {
  std::vector<std::string> out;
  for (const auto& item : list(node, name)) out.push_back(string_value(item));
  return out;
}

std::string quote_identifier(std::string_view name);

// ["s", "t"] as "s"."t".
inline std::string qualified_name(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ".") + quote_identifier(p);
  return out;
}

// A RangeVar's name, quoted and qualified as written.
inline std::string range_var_name(const nlohmann::json& range_var) {
  std::vector<std::string> parts;
  if (!text(range_var, "schemaname").empty()) parts.push_back(text(range_var, "schemaname"));
  parts.push_back(text(range_var, "relname"));
  return qualified_name(parts);
}

// An integer DefElem argument ({"Integer": {"ival": n}}, or {"Float": {"fval": "n"}} for big
// ones), or -1 when it is neither.
inline long long integer_argument(const nlohmann::json& def_elem) {
  const nlohmann::json& arg = field(def_elem, "arg");
  if (const nlohmann::json* i = child(arg, "Integer")) {
    const nlohmann::json& v = field(*i, "ival");
    return v.is_number_integer() ? v.get<long long>() : 0;
  }
  if (const nlohmann::json* f = child(arg, "Float")) {
    try {
      return std::stoll(text(*f, "fval"));
    } catch (...) {
      return -1;
    }
  }
  return -1;
}

}  // namespace dsql::detail
