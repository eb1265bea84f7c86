// Start @skyware/labeler for atcheck: register its DID at the run's PLC, serve it on loopback, and let atcheck
// create labels.
//
// Why a script of ours: the library's LabelerServer needs a DID whose document already names its label key,
// and its only label-creation route (tools.ozone.moderation.emitEvent) checks a service-auth JWT by resolving
// the caller's DID at the public plc.directory, which an offline run cannot reach. So this script
//   1. builds a did:plc genesis operation (our rotation key; #atproto_label = the signing key; service
//      #atproto_labeler = this labeler's URL) and posts it to the run's PLC;
//   2. starts LabelerServer with that DID and key, listening on 127.0.0.1 (or ATCHECK_BIND_HOST);
//   3. adds two routes outside /xrpc (atcheck's provisioning, not the labeler's API):
//        GET  /atcheck/labeler  -> {did, endpoint}              (public facts, no auth)
//        POST /atcheck/labels   {labels: [{uri, cid?, val, neg?, exp?, cts?}]} -> {labels: [{seq, label}]}
//                               with "Authorization: Bearer $ATCHECK_ADMIN_TOKEN"; each label is created by the
//                               library's own createLabel (it signs, stores and broadcasts).
// Every label and frame the suites check is the library's own output.
//
// Environment: PORT, PLC_URL, LABELER_SIGNING_KEY_HEX and LABELER_ROTATION_KEY_HEX (secp256k1, 64 hex
// digits), ATCHECK_ADMIN_TOKEN, LABELER_DB (sqlite path), optional ATCHECK_BIND_HOST and LABELER_PUBLIC_URL.
// Prints one "READY <url>" line once listening; exits 0 on SIGTERM/SIGINT.

import { encode as cborEncode } from "@atcute/cbor";
import { secp256k1 } from "@noble/curves/secp256k1";
import { sha256 } from "@noble/hashes/sha256";
import { LabelerServer } from "@skyware/labeler";
import { toString as bytesToString } from "uint8arrays/to-string";
import { fromString as bytesFromString } from "uint8arrays/from-string";

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`start.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const port = Number.parseInt(need("PORT"), 10);
const host = process.env.ATCHECK_BIND_HOST || "127.0.0.1";
const plcUrl = need("PLC_URL").replace(/\/+$/, "");
const signingHex = need("LABELER_SIGNING_KEY_HEX");
const rotationHex = need("LABELER_ROTATION_KEY_HEX");
const adminToken = need("ATCHECK_ADMIN_TOKEN");
const dbPath = need("LABELER_DB");
const publicUrl = (process.env.LABELER_PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, "");

/** did:key of a secp256k1 public key: multicodec 0xe7 0x01, compressed point, base58btc. */
function k256DidKey(privateHex) {
  const point = secp256k1.getPublicKey(bytesFromString(privateHex, "base16"), true);
  const prefixed = new Uint8Array([0xe7, 0x01, ...point]);
  return `did:key:z${bytesToString(prefixed, "base58btc")}`;
}

/** Sign the DAG-CBOR of a PLC operation (without sig) the way did:plc requires: sha-256, low-S, base64url. */
function signOperation(unsigned, privateHex) {
  const digest = sha256(cborEncode(unsigned));
  const sig = secp256k1.sign(digest, bytesFromString(privateHex, "base16"), { lowS: true });
  return { ...unsigned, sig: bytesToString(sig.toCompactRawBytes(), "base64url") };
}

/** The DID of a signed genesis operation: base32 of its sha-256, first 24 characters. */
function plcDid(signed) {
  return `did:plc:${bytesToString(sha256(cborEncode(signed)), "base32").slice(0, 24)}`;
}

async function registerDid() {
  const unsigned = {
    type: "plc_operation",
    rotationKeys: [k256DidKey(rotationHex)],
    verificationMethods: { atproto_label: k256DidKey(signingHex) },
    alsoKnownAs: [],
    services: { atproto_labeler: { type: "AtprotoLabeler", endpoint: publicUrl } },
    prev: null,
  };
  const signed = signOperation(unsigned, rotationHex);
  const did = plcDid(signed);
  const resp = await fetch(`${plcUrl}/${did}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(signed),
    signal: AbortSignal.timeout(15000),
  });
  if (!resp.ok) {
    const text = (await resp.text()).slice(0, 300);
    throw new Error(`the PLC at ${plcUrl} refused the labeler's genesis operation: HTTP ${resp.status} ${text}`);
  }
  return did;
}

function authorised(req) {
  return req.headers.authorization === `Bearer ${adminToken}`;
}

/** One label request from atcheck: only the fields the label schema has, strings where it wants strings. */
function labelInput(raw, index) {
  if (typeof raw !== "object" || raw === null) throw new Error(`labels[${index}] is not an object`);
  const { uri, cid, val, neg, exp, cts } = raw;
  if (typeof uri !== "string" || typeof val !== "string") {
    throw new Error(`labels[${index}] needs string 'uri' and 'val'`);
  }
  for (const [name, value] of Object.entries({ cid, exp, cts })) {
    if (value !== undefined && typeof value !== "string") throw new Error(`labels[${index}].${name} must be a string`);
  }
  if (neg !== undefined && typeof neg !== "boolean") throw new Error(`labels[${index}].neg must be a boolean`);
  return { uri, val, ...(cid ? { cid } : {}), ...(neg ? { neg: true } : {}), ...(exp ? { exp } : {}), ...(cts ? { cts } : {}) };
}

/**
 * Wait until LabelerServer has added its own routes. It adds them in a callback after registering the
 * WebSocket plugin; a route added before that callback ran leaves fastify never listening (seen with 0.2.0).
 */
async function libraryRoutesAdded(app) {
  for (let i = 0; i < 1000; i++) {
    if (app.hasRoute({ method: "GET", url: "/xrpc/_health" })) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("LabelerServer did not add its routes within 10 s");
}

async function main() {
  const did = await registerDid();
  const server = new LabelerServer({ did, signingKey: signingHex, dbPath });
  await server.dbInitLock;
  await libraryRoutesAdded(server.app);

  server.app.get("/atcheck/labeler", async () => ({ did, endpoint: publicUrl }));
  server.app.post("/atcheck/labels", async (req, res) => {
    if (!authorised(req)) return res.status(401).send({ error: "AuthRequired", message: "admin token required" });
    const body = req.body;
    if (typeof body !== "object" || body === null || !Array.isArray(body.labels) || body.labels.length === 0) {
      return res.status(400).send({ error: "InvalidRequest", message: "expected {labels: [...]} (at least one)" });
    }
    let inputs;
    try {
      inputs = body.labels.map(labelInput);
    } catch (err) {
      return res.status(400).send({ error: "InvalidRequest", message: String(err.message ?? err) });
    }
    const created = [];
    for (const input of inputs) {
      const { id, ...label } = await server.createLabel(input);
      created.push({ seq: id, label: { ...label, sig: bytesToString(label.sig, "base64") } });
    }
    return res.send({ labels: created });
  });

  await new Promise((resolve, reject) => {
    server.start({ port, host }, (err) => (err ? reject(err) : resolve()));
  });
  console.log(`READY http://${host}:${port} ${did}`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(`start.mjs: ${err?.message ?? err}`);
  process.exit(1);
});
