// Cold start through AWS's Node.js connector (@aws/aurora-dsql-node-postgres-connector on pg),
// for bench/cold_start.sh: credentials from the environment, signing, verified TLS, SELECT 1.
//   node cold_node.mjs PORT REGION CA_FILE
// 127.0.0.1 rather than localhost: the connector takes a host without a dot for a cluster ID.
import { readFileSync } from "node:fs";
import { AuroraDSQLClient } from "@aws/aurora-dsql-node-postgres-connector";

const [port, region, ca] = process.argv.slice(2);
const client = new AuroraDSQLClient({
  host: "127.0.0.1",
  port: Number(port),
  region,
  user: "admin",
  ssl: { ca: readFileSync(ca), rejectUnauthorized: true },
});
await client.connect();
const res = await client.query("SELECT 1 AS v");
console.log(String(res.rows[0].v));
await client.end();
