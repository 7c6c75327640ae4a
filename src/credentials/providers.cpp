#include "dsql/credentials.hpp"
#include "dsql/errors.hpp"
#include "util/printable.hpp"

namespace dsql {

static_credentials_provider::static_credentials_provider(credentials c)
    : credentials_(std::move(c)) {
  if (credentials_.source.empty()) credentials_.source = "static";
}

credentials static_credentials_provider::resolve() {
  return credentials_;
}

function_credentials_provider::function_credentials_provider(std::string name,
                                                             std::function<credentials()> fn)
    : name_(std::move(name)), fn_(std::move(fn)) {
  if (!fn_) {
    throw config_error("function_credentials_provider " + util::quoted(name_) + " has no function");
  }
}

credentials function_credentials_provider::resolve() {
  credentials c = fn_();
  if (c.source.empty()) c.source = name_;
  return c;
}

}  // namespace dsql
