/*
 * What DSQL allows as a column: its documented types (an allow-list: anything else, arrays
 * included, is "datatype <t> not supported"), no serial, identity columns only as bigint with an
 * explicit CACHE of 1 or at least 65536; and the same CACHE rule for sequences.
 */
#include "dsql_rules.h"

#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#define CACHE_HINT "please define CACHE greater than or equal to 65536 or equal to 1"

/* DSQL's supported data types (docs: "Supported data types"); domains count as their base. */
static bool supported_column_type(Oid type) {
  switch (type) {
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case FLOAT4OID:
    case FLOAT8OID:
    case NUMERICOID:
    case BPCHAROID:
    case VARCHAROID:
    case TEXTOID:
    case DATEOID:
    case TIMEOID:
    case TIMETZOID:
    case TIMESTAMPOID:
    case TIMESTAMPTZOID:
    case INTERVALOID:
    case BOOLOID:
    case BYTEAOID:
    case UUIDOID:
    case JSONOID:
    case JSONBOID:
      return true;
    default:
      return false;
  }
}

/* serial is a parser macro in PostgreSQL; DSQL has no such macro, so it is an unknown type. */
static void check_not_serial(TypeName* type_name) {
  static const char* const serials[] = {"serial",  "serial2",   "serial4",
                                        "serial8", "bigserial", "smallserial"};
  const char* name;
  if (type_name == NULL || type_name->names == NIL || type_name->arrayBounds != NIL) return;
  name = strVal(llast(type_name->names));
  for (size_t i = 0; i < lengthof(serials); i++) {
    if (strcmp(name, serials[i]) == 0)
      ereport(ERROR,
              (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("type \"%s\" does not exist", name)));
  }
}

/* The type's name as DSQL reports it when refusing it, or NULL when it is supported or unknown
 * (an unknown type is left to PostgreSQL's own "does not exist"). */
const char* dsql_unsupported_column_type(TypeName* type_name) {
  Oid type = LookupTypeNameOid(NULL, type_name, true);
  Oid base;
  if (!OidIsValid(type)) return NULL;
  base = getBaseType(type);
  if (type_is_array(base) || !supported_column_type(base))
    return format_type_be(type_is_array(base) ? base : type);
  return NULL;
}

static void check_type(TypeName* type_name) {
  const char* unsupported = dsql_unsupported_column_type(type_name);
  if (unsupported)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("datatype %s not supported", unsupported)));
}

static DefElem* find_option(List* options, const char* name) {
  ListCell* cell;
  foreach (cell, options) {
    DefElem* def = lfirst_node(DefElem, cell);
    if (strcmp(def->defname, name) == 0) return def;
  }
  return NULL;
}

void dsql_check_sequence_options(List* options, bool identity) {
  DefElem* cache = find_option(options, "cache");
  int64 value = cache ? defGetInt64(cache) : 0;
  if (cache == NULL || (value != 1 && value < 65536)) {
    if (identity)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("identity column is not supported without an explicit cache "
                             "size. " CACHE_HINT)));
    ereport(
        ERROR,
        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
         errmsg("CREATE SEQUENCE is not supported without an explicit cache size. " CACHE_HINT)));
  }
}

static Constraint* identity_constraint(ColumnDef* column) {
  ListCell* cell;
  foreach (cell, column->constraints) {
    Constraint* constraint = lfirst_node(Constraint, cell);
    if (constraint->contype == CONSTR_IDENTITY) return constraint;
  }
  return NULL;
}

void dsql_check_key_count(int keys) {
  if (keys > 8)
    ereport(ERROR, (errcode(ERRCODE_TOO_MANY_COLUMNS),
                    errmsg("more than 8 column keys in an index are not supported")));
}

void dsql_check_key_type(Oid type) {
  if (OidIsValid(type) && getBaseType(type) == JSONBOID)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("datatype jsonb is not supported in a key")));
}

void dsql_check_key_columns(CreateStmt* table, List* column_names) {
  ListCell* name_cell;
  dsql_check_key_count(list_length(column_names));
  foreach (name_cell, column_names) {
    const char* name = strVal(lfirst(name_cell));
    ListCell* cell;
    foreach (cell, table->tableElts) {
      Node* element = lfirst(cell);
      if (IsA(element, ColumnDef) && strcmp(((ColumnDef*)element)->colname, name) == 0 &&
          ((ColumnDef*)element)->typeName)
        dsql_check_key_type(LookupTypeNameOid(NULL, ((ColumnDef*)element)->typeName, true));
    }
  }
}

void dsql_check_column_def(ColumnDef* column, bool alter_table) {
  Constraint* identity;
  check_not_serial(column->typeName);
  if (column->collClause)
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("COLLATE clause not supported")));
  /* An added column may carry no constraint at all: not NOT NULL, DEFAULT or identity either. */
  if (alter_table && column->constraints != NIL)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ALTER TABLE ADD COLUMN with constraint not supported")));
  if (column->typeName) check_type(column->typeName);
  identity = identity_constraint(column);
  if (identity) {
    Oid type = LookupTypeNameOid(NULL, column->typeName, true);
    dsql_check_sequence_options(identity->options, true);
    if (OidIsValid(type) && getBaseType(type) != INT8OID)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("datatype %s not supported, identity column type must be bigint",
                             format_type_be(type))));
  }
}
