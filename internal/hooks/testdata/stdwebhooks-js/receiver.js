// A Standard Webhooks receiver built on the official library: it verifies
// every POST with the secret given as argv[2], answers 200 with a reply
// for a valid one and 401 for a bad one, and prints one JSON line per
// request ({"ok", "id", "error"}) on stdout. Its first line is
// {"port": N}. It listens on 127.0.0.1 only.
"use strict";
const http = require("node:http");
const { Webhook } = require("standardwebhooks");

const wh = new Webhook(process.argv[2]);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const payload = wh.verify(body, req.headers);
      console.log(JSON.stringify({ ok: true, id: req.headers["webhook-id"], text: payload.text }));
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ text: "verified " + req.headers["webhook-id"] }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, id: req.headers["webhook-id"] || "", error: String(e.message) }));
      res.writeHead(401);
      res.end();
    }
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.stdin.on("end", () => server.close(() => process.exit(0)));
process.stdin.resume();
