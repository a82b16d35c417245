// Signs with the official library: argv = secret, msg id, unix seconds;
// the body is stdin. Prints the webhook-signature value.
"use strict";
const { Webhook } = require("standardwebhooks");

const [secret, id, ts] = process.argv.slice(2);
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const wh = new Webhook(secret);
  process.stdout.write(wh.sign(id, new Date(Number(ts) * 1000), Buffer.concat(chunks).toString("utf8")));
});
