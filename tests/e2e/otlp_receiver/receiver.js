// An OTLP/HTTP trace receiver for the e2e tests, independent of difftrace's
// own schema: bodies are decoded with the ExportTraceServiceRequest that
// @opentelemetry/otlp-transformer (OpenTelemetry JS) generated from the
// official opentelemetry-proto files.
//
//   node receiver.js --out FILE [--fail N]
//
// Listens on 127.0.0.1 on a free port and prints {"port": P} on stdout.
// Each POST becomes one JSON line in FILE: path, content type and encoding,
// the answer, and the decoded request (ids as hex, 64-bit numbers as
// strings), or the error that decoding raised. The first N requests are
// answered 503 with Retry-After: 0 (retries); the rest 200 with an empty
// ExportTraceServiceResponse. SIGTERM ends it.
'use strict';

const fs = require('fs');
const http = require('http');
const zlib = require('zlib');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const svc = root.opentelemetry.proto.collector.trace.v1;

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const out = arg('--out');
let failLeft = parseInt(arg('--fail', '0'), 10);
if (!out) {
  console.error('usage: node receiver.js --out FILE [--fail N]');
  process.exit(2);
}

const hex = (b64) => Buffer.from(b64, 'base64').toString('hex');

function decode(body) {
  const msg = svc.ExportTraceServiceRequest.decode(body);
  const err = svc.ExportTraceServiceRequest.verify(msg);
  if (err) throw new Error('verify: ' + err);
  // All fields known to the official schema: re-encoding gives the same length
  // (unknown fields would be skipped by decode and missing here).
  const again = svc.ExportTraceServiceRequest.encode(msg).finish();
  const obj = svc.ExportTraceServiceRequest.toObject(msg, {
    longs: String, enums: Number, bytes: String, defaults: false,
  });
  for (const rs of obj.resourceSpans || []) {
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        for (const k of ['traceId', 'spanId', 'parentSpanId']) if (s[k]) s[k] = hex(s[k]);
      }
    }
  }
  return { request: obj, reencodedLength: again.length };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const rec = {
      method: req.method,
      path: req.url,
      contentType: req.headers['content-type'] || '',
      contentEncoding: req.headers['content-encoding'] || '',
    };
    let body = Buffer.concat(chunks);
    rec.wireLength = body.length;
    try {
      if (rec.contentEncoding === 'gzip') body = zlib.gunzipSync(body);
      rec.bodyLength = body.length;
      Object.assign(rec, decode(body));
    } catch (e) {
      rec.error = String(e && e.message ? e.message : e);
    }
    // Recorded before answering: once difftrace has its answer, the test may read the file.
    let status = 200;
    let headers = { 'Content-Type': 'application/x-protobuf' };
    let answer = Buffer.from(svc.ExportTraceServiceResponse.encode({}).finish());
    if (rec.error) {
      status = 400;
      headers = { 'Content-Type': 'text/plain' };
      answer = rec.error;
    } else if (failLeft > 0) {
      failLeft--;
      status = 503;
      headers = { 'Content-Type': 'text/plain', 'Retry-After': '0' };
      answer = 'try again';
    }
    rec.status = status;
    fs.appendFileSync(out, JSON.stringify(rec) + '\n');
    res.writeHead(status, headers);
    res.end(answer);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
