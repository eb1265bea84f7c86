// Start an in-memory did:plc directory (@did-plc/server) for atcheck.
//
//   node start-plc.mjs --port 2582        (or PLC_PORT=2582; --port 0 picks a free port)
//
// It keeps every DID in memory: a restart forgets them all, so it must outlive every PDS that uses it.
// We create the HTTP server ourselves because PlcServer.start() listens on all interfaces.

import http from 'node:http'

import plcPackage from '@did-plc/server'

import { announce, argValue, bindHost, die, onStopSignals, parsePort } from './lib.mjs'

const { PlcServer, Database } = plcPackage

const main = async () => {
  const port = parsePort(argValue('--port') ?? process.env.PLC_PORT, '--port (or PLC_PORT)')
  const host = bindHost()
  const db = Database.mock()
  const plc = PlcServer.create({ db, port, version: process.env.PLC_VERSION || '0.0.1' })
  const server = http.createServer(plc.app)
  server.on('error', (err) => die('plc: cannot listen', err))
  server.listen(port, host)
  await announce(server, host)
  onStopSignals('plc', async () => {
    const closed = new Promise((resolve) => server.close(resolve))
    server.closeAllConnections()
    await closed
    await db.close()
  })
}

main().catch((err) => die('plc: failed to start', err))
