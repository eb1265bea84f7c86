// Start Ozone, the Bluesky AppView and their PDS and PLC through @atproto/dev-env's TestNetwork, for atcheck.
//
// Why a script of ours: TestNetwork is a test harness, not a server program. It needs a PostgreSQL database
// and a Redis, listens on every interface, and writes data dirs under the OS temp dir. This script
//   1. makes a private PostgreSQL cluster (initdb, trust auth, fsync off) in $OZONE_DATA/pg and runs
//      `postgres` on 127.0.0.1:$PG_PORT as a child (as root: as the `postgres` user, since initdb refuses
//      root, in a temp dir of its own that is removed on stop, since the run dir is private to root), and
//      `redis-server` on 127.0.0.1:$REDIS_PORT as a child, without persistence;
//   2. makes every server of the process listen on 127.0.0.1 unless told otherwise (net.Server.listen);
//   3. builds TestNetwork with the ports atcheck chose: Ozone (the labeler) on $OZONE_PORT, the AppView on
//      $BSKY_PORT, the PDS on $PDS_PORT and the PLC on $PLC_PORT;
//   4. adds atcheck's provisioning routes to Ozone's HTTP server (outside /xrpc), which answers 503 until the
//      whole network is up:
//        GET  /atcheck/labeler  -> {did, endpoint, pds, appview}          (public facts, no auth)
//        POST /atcheck/labels   {labels: [{uri, cid?, val, neg?, exp?, cts?}]} -> {labels: [{seq, label}]}
//                               with "Authorization: Bearer $ATCHECK_ADMIN_TOKEN": each label is made by
//                               Ozone's own ModerationService.createLabels (it signs, stores and streams);
//        POST /atcheck/sync     waits until the AppView has indexed everything the PDS and Ozone emitted.
//   5. stands in for the label ingester of a Bluesky deployment, which dev-env does not have (its AppView only
//      reads a `label` table that dev-env's own tests fill directly): it subscribes to Ozone's
//      com.atproto.label.subscribeLabels like any consumer and writes each label into the AppView's table
//      (a negation removes the row). What the AppView then shows, hides or redacts for an
//      atproto-accept-labelers header is the AppView's own code.
// On SIGTERM/SIGINT it stops Redis and PostgreSQL and removes the cluster's scratch dir (the data dir belongs
// to the run); the network's servers end with the process.
//
// Environment: OZONE_PORT, BSKY_PORT, PDS_PORT, PLC_PORT, PG_PORT, REDIS_PORT, OZONE_DATA (a directory),
// ATCHECK_ADMIN_TOKEN, optional ATCHECK_BIND_HOST. Prints one "READY <url> <did>" line once everything
// listens; exits 0 when stopped.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`start.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const host = process.env.ATCHECK_BIND_HOST || "127.0.0.1";
const ports = Object.fromEntries(
  ["OZONE_PORT", "BSKY_PORT", "PDS_PORT", "PLC_PORT", "PG_PORT", "REDIS_PORT"].map((name) => {
    const port = Number.parseInt(need(name), 10);
    if (!(port > 0 && port < 65536)) {
      console.error(`start.mjs: ${name} is not a port number`);
      process.exit(2);
    }
    return [name, port];
  }),
);
const dataDir = path.resolve(need("OZONE_DATA"));
const adminToken = need("ATCHECK_ADMIN_TOKEN");

// Every server of this process (Express apps, WebSocket servers, PLC, bsync) binds loopback by default.
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  if (typeof args[0] === "number" && (args.length === 1 || typeof args[1] === "function")) {
    args.splice(1, 0, host);
  } else if (typeof args[0] === "object" && args[0] !== null && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host };
  } else if (args.length === 0 || (args.length === 1 && typeof args[0] === "function")) {
    args.unshift(0, host);
  }
  const port = typeof args[0] === "object" && args[0] !== null ? args[0].port : args[0];
  if (Number(port) === ports.OZONE_PORT && typeof this.listeners === "function") addRoutes(this);
  return originalListen.apply(this, args);
};

const children = [];
const systemTmp = os.tmpdir(); // before TMPDIR is pointed into the run dir for dev-env

function pgUser() {
  if (process.getuid?.() !== 0) return {};
  const found = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const group = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (found.status !== 0 || group.status !== 0) {
    throw new Error("running as root and there is no 'postgres' user for initdb (apt-get install postgresql)");
  }
  return { uid: Number(found.stdout.trim()), gid: Number(group.stdout.trim()) };
}

function pgBin(name) {
  for (const dir of ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/local/bin", "/usr/bin"]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`${name} not found (apt-get install postgresql)`);
}

function child(name, command, args, options = {}) {
  const log = fs.openSync(path.join(dataDir, `${name}.log`), "a");
  const proc = spawn(command, args, { stdio: ["ignore", log, log], ...options });
  proc.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`start.mjs: ${name} exited (${signal ?? code}); see ${path.join(dataDir, `${name}.log`)}`);
      process.exit(1);
    }
  });
  children.push({ name, proc });
  return proc;
}

async function waitForPort(port, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s`);
}

let pgScratch = null; // a cluster dir outside the run dir, removed on stop (as root only)

async function startPostgres() {
  const user = pgUser();
  let pgData = path.join(dataDir, "pg");
  if (user.uid !== undefined) {
    // The run dir is private to root (mkdtemp, 0700), so the postgres user could not reach a cluster in it.
    sweepScratch();
    pgScratch = fs.mkdtempSync(path.join(systemTmp, "atcheck-ozone-pg-"));
    fs.writeFileSync(path.join(pgScratch, "owner.pid"), `${process.pid}\n`);
    fs.chownSync(pgScratch, user.uid, user.gid);
    pgData = path.join(pgScratch, "data");
    fs.writeFileSync(path.join(dataDir, "pg-location.txt"), `${pgData}\n`);
  }
  fs.mkdirSync(pgData, { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) fs.chownSync(pgData, user.uid, user.gid);
  if (!fs.existsSync(path.join(pgData, "PG_VERSION"))) {
    const init = spawnSync(
      pgBin("initdb"),
      ["-D", pgData, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
      { encoding: "utf8", ...user, timeout: 120000 },
    );
    if (init.status !== 0) {
      throw new Error(`initdb failed (${init.status}): ${(init.stderr || init.stdout || "").trim().slice(-400)}`);
    }
  }
  child(
    "postgres",
    pgBin("postgres"),
    [
      "-D", pgData, "-p", String(ports.PG_PORT), "-c", "listen_addresses=127.0.0.1",
      "-c", `unix_socket_directories=${pgData}`, "-c", "fsync=off", "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off", "-c", "max_connections=200",
    ],
    user,
  );
  await waitForPort(ports.PG_PORT, "PostgreSQL");
  return `postgresql://postgres@127.0.0.1:${ports.PG_PORT}/postgres`;
}

async function startRedis() {
  const redisDir = path.join(dataDir, "redis");
  fs.mkdirSync(redisDir, { recursive: true });
  child("redis", "redis-server", [
    "--port", String(ports.REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--dir", redisDir, "--protected-mode", "yes",
  ]);
  await waitForPort(ports.REDIS_PORT, "redis-server");
  return `127.0.0.1:${ports.REDIS_PORT}`;
}

let stopping = false;
let network;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // atcheck gives a service 5 s between SIGTERM and SIGKILL, so nothing here waits on the network: its
  // servers end with this process. PostgreSQL and Redis are stopped (SIGINT: PostgreSQL's fast shutdown) and
  // the cluster's scratch dir removed; a run killed before that leaves a dir the next start sweeps.
  const timer = setTimeout(() => {
    removeScratch();
    process.exit(code);
  }, 4000);
  for (const { proc } of children.reverse()) {
    if (proc.exitCode === null) proc.kill("SIGINT");
  }
  await Promise.all(children.map(({ proc }) => (proc.exitCode === null ? new Promise((r) => proc.once("exit", r)) : null)));
  clearTimeout(timer);
  removeScratch();
  process.exit(code);
}

function removeScratch() {
  if (pgScratch) fs.rmSync(pgScratch, { recursive: true, force: true });
}

/** Remove the cluster dirs of earlier starts whose process is gone (killed before it could clean up). */
function sweepScratch() {
  for (const name of fs.readdirSync(systemTmp)) {
    if (!name.startsWith("atcheck-ozone-pg-")) continue;
    const dir = path.join(systemTmp, name);
    let owner = NaN;
    try {
      owner = Number.parseInt(fs.readFileSync(path.join(dir, "owner.pid"), "utf8"), 10);
    } catch {
      // no marker: made by an older script; judged by age below
    }
    let alive = false;
    if (Number.isInteger(owner)) {
      try {
        process.kill(owner, 0);
        alive = true;
      } catch (err) {
        alive = err?.code === "EPERM";
      }
    } else {
      alive = Date.now() - fs.statSync(dir).mtimeMs < 3600_000;
    }
    if (!alive) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function json(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1_000_000) throw new Error("body over 1 MB");
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
}

/** One label request from atcheck: only the fields the label schema has, strings where it wants strings. */
function labelInput(raw, index, src) {
  if (typeof raw !== "object" || raw === null) throw new Error(`labels[${index}] is not an object`);
  const { uri, cid, val, neg, exp, cts } = raw;
  if (typeof uri !== "string" || typeof val !== "string") {
    throw new Error(`labels[${index}] needs string 'uri' and 'val'`);
  }
  for (const [name, value] of Object.entries({ cid, exp, cts })) {
    if (value !== undefined && typeof value !== "string") throw new Error(`labels[${index}].${name} must be a string`);
  }
  if (neg !== undefined && typeof neg !== "boolean") throw new Error(`labels[${index}].neg must be a boolean`);
  return {
    src, uri, val, cid: cid ?? undefined, neg: neg ? true : undefined, exp: exp ?? undefined,
    cts: cts ?? new Date().toISOString(),
  };
}

let facts = null; // set once the whole network is up: until then Ozone's port answers 503 to everything

/**
 * atcheck's routes in front of Ozone's own request handler, installed when Ozone starts listening. Ozone
 * listens before the AppView, its service profile and policies are done, so until then every request gets
 * a 503: atcheck's health check waits for the whole network, not for Ozone alone.
 */
function addRoutes(server) {
  const handlers = server.listeners("request");
  server.removeAllListeners("request");
  server.on("request", (req, res) => {
    if (facts === null) return json(res, 503, { error: "NotReady", message: "dev-env is starting" });
    if (!req.url.startsWith("/atcheck/")) {
      for (const handler of handlers) handler.call(server, req, res);
      return;
    }
    handle(req, res, facts).catch((err) => json(res, 500, { error: "InternalError", message: String(err?.message ?? err) }));
  });
}

async function handle(req, res, facts) {
  const route = `${req.method} ${req.url.split("?")[0]}`;
  if (route === "GET /atcheck/labeler") return json(res, 200, facts);
  if (req.headers.authorization !== `Bearer ${adminToken}`) {
    return json(res, 401, { error: "AuthRequired", message: "admin token required" });
  }
  if (route === "POST /atcheck/sync") {
    await network.processAll(15000);
    return json(res, 200, {});
  }
  if (route !== "POST /atcheck/labels") return json(res, 404, { error: "NotFound", message: route });
  let inputs;
  try {
    const body = await readJson(req);
    if (typeof body !== "object" || body === null || !Array.isArray(body.labels) || body.labels.length === 0) {
      throw new Error("expected {labels: [...]} (at least one)");
    }
    inputs = body.labels.map((raw, i) => labelInput(raw, i, facts.did));
  } catch (err) {
    return json(res, 400, { error: "InvalidRequest", message: String(err?.message ?? err) });
  }
  const ctx = network.ozone.ctx;
  const created = [];
  for (const input of inputs) {
    // One at a time, in order: each label gets its own stream seq, as the suite expects.
    const [label] = await ctx.modService(ctx.db).createLabels([input]);
    const row = await ctx.db.db
      .selectFrom("label").select("id")
      .where("src", "=", input.src).where("uri", "=", input.uri).where("val", "=", input.val)
      .where("cid", "=", input.cid ?? "")
      .executeTakeFirstOrThrow();
    created.push({ seq: Number(row.id), label: { ...label, sig: Buffer.from(label.sig).toString("base64") } });
  }
  return json(res, 200, { labels: created });
}

/** Ozone's label stream into the AppView's label table: the ingester a deployment runs next to its AppView. */
async function bridgeLabels(ozoneUrl, bskyDb) {
  const { Subscription } = await import("@atproto/xrpc-server");
  let cursor = 0;
  const sub = new Subscription({
    service: ozoneUrl.replace(/^http/, "ws"),
    method: "com.atproto.label.subscribeLabels",
    getParams: () => ({ cursor }),
    validate: (value) => value,
    onReconnectError: (err) => console.error(`start.mjs: label stream: ${err?.message ?? err}`),
  });
  for await (const msg of sub) {
    if (stopping) return;
    if (msg?.$type !== "com.atproto.label.subscribeLabels#labels") continue;
    for (const label of msg.labels) {
      const row = { src: label.src, uri: label.uri, cid: label.cid ?? "", val: label.val };
      if (label.neg) {
        await bskyDb.db.deleteFrom("label").where("src", "=", row.src).where("uri", "=", row.uri)
          .where("cid", "=", row.cid).where("val", "=", row.val).execute();
      } else {
        await bskyDb.db.insertInto("label").values({ ...row, neg: false, cts: label.cts, exp: label.exp ?? null })
          .onConflict((oc) => oc.columns(["src", "uri", "cid", "val"]).doUpdateSet({ cts: label.cts, exp: label.exp ?? null }))
          .execute();
      }
    }
    cursor = msg.seq;
  }
}

async function main() {
  fs.mkdirSync(dataDir, { recursive: true });
  const tmp = path.join(dataDir, "tmp");
  fs.mkdirSync(tmp, { recursive: true });
  process.env.TMPDIR = tmp; // dev-env's PDS and blob dirs go under os.tmpdir()
  const dbUrl = await startPostgres();
  process.env.REDIS_HOST = await startRedis();
  const { TestNetwork } = await import("@atproto/dev-env");
  network = await TestNetwork.create({
    dbPostgresUrl: dbUrl,
    dbPostgresSchema: "atcheck",
    pds: { port: ports.PDS_PORT, hostname: "localhost", inviteRequired: false },
    bsky: { port: ports.BSKY_PORT, publicUrl: `http://localhost:${ports.BSKY_PORT}` },
    plc: { port: ports.PLC_PORT },
    ozone: { port: ports.OZONE_PORT },
  });
  const did = network.ozone.ctx.cfg.service.did;
  const ready = {
    did,
    endpoint: `http://localhost:${ports.OZONE_PORT}`,
    appview: network.bsky.url,
    appviewDid: network.bsky.ctx.cfg.serverDid,
    pds: network.pds.url,
  };
  facts = ready;
  bridgeLabels(`http://127.0.0.1:${ports.OZONE_PORT}`, network.bsky.db).catch((err) => {
    if (!stopping) console.error(`start.mjs: the label bridge stopped: ${err?.stack ?? err}`);
  });
  console.log(`READY http://${host}:${ports.OZONE_PORT} ${did} os.tmpdir=${os.tmpdir()}`);
}

process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
main().catch((err) => {
  console.error(`start.mjs: ${err?.stack ?? err}`);
  stop(1);
});
