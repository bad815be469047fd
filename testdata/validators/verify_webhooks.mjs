// Verifies webhook messages with the reference Standard Webhooks library.
//
// Usage: node verify_webhooks.mjs < messages.json
// where messages.json is [{"secret": "whsec_…", "headers": {…}, "body_base64": "…"}, …].
// Prints one line per message ("ok" or the library's error) and exits 1
// when any message fails. The library is looked up in the node_modules
// directory named by CALGATE_TEST_NODE_PATH.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const modules = process.env.CALGATE_TEST_NODE_PATH;
if (!modules) {
  console.error("CALGATE_TEST_NODE_PATH is not set");
  process.exit(2);
}
const require = createRequire(join(modules, "verify.cjs"));
const { Webhook } = require("standardwebhooks");

const messages = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const [i, m] of messages.entries()) {
  try {
    new Webhook(m.secret).verify(Buffer.from(m.body_base64, "base64"), m.headers);
    console.log(`${i}: ok`);
  } catch (err) {
    failed++;
    console.log(`${i}: ${err.name}: ${err.message}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
