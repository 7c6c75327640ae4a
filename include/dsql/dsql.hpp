#pragma once

/// @file
/// Everything in one include.

/// @namespace dsql
/// The Aurora DSQL Connector for C++: connections with IAM tokens, pools, OCC retry, migrations.

#include "dsql/batch_writer.hpp"
#include "dsql/config.hpp"
#include "dsql/connection.hpp"
#include "dsql/credentials.hpp"
#include "dsql/endpoint.hpp"
#include "dsql/errors.hpp"
#include "dsql/log.hpp"
#include "dsql/metrics.hpp"
#include "dsql/migrate.hpp"
#include "dsql/notice.hpp"
#include "dsql/pool.hpp"
#include "dsql/result.hpp"
#include "dsql/retry.hpp"
#include "dsql/token.hpp"
#include "dsql/version.hpp"
