// AWS's JavaScript DSQL signer, timed the way bench_token times ours: warm static credentials,
// one token per iteration. Run through bench/compare_signers.sh.
import { DsqlSigner } from "@aws-sdk/dsql-signer";

const credentials = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE12",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
};
const withSession = process.argv[2] === "session";
if (withSession) credentials.sessionToken = "T".repeat(900);

const signer = new DsqlSigner({
  hostname: "iuabtx3obgvtsv2e5wchdr2v54.dsql.eu-west-2.on.aws",
  region: "eu-west-2",
  credentials,
  expiresIn: 900,
});

// Warm up the JIT and the signer's caches, then time a fixed number of tokens.
for (let i = 0; i < 20000; i++) await signer.getDbConnectAdminAuthToken();
const n = 100000;
const start = process.hrtime.bigint();
for (let i = 0; i < n; i++) await signer.getDbConnectAdminAuthToken();
const ns = Number(process.hrtime.bigint() - start) / n;
console.log(`js_signer${withSession ? "_session_token" : ""} ${(ns / 1000).toFixed(2)} us/token`);
