// Helpers shared by atcheck's start scripts for the reference PLC and PDS.
//
// Why these exist: the upstream servers listen on every interface and have no command-line entry point
// that fits a test harness. These helpers pin the listen address to loopback, print the one `READY <url>`
// line a harness (or a person) can wait for, and turn SIGTERM/SIGINT into a clean, bounded shutdown.

import { once } from 'node:events'

/** The address to bind: loopback unless ATCHECK_BIND_HOST says otherwise (e.g. inside a container). */
export const bindHost = () => process.env.ATCHECK_BIND_HOST || '127.0.0.1'

/** Print one line to stderr and exit non-zero: a harness shows the last log line as the reason. */
export const die = (what, err) => {
  const reason = err instanceof Error ? err.message : String(err)
  process.stderr.write(`${what}: ${reason.split('\n')[0]}\n`)
  process.exit(1)
}

/** Parse a TCP port (0 = let the OS choose) or die naming where it came from. */
export const parsePort = (raw, where) => {
  const port = Number(raw)
  if (raw === undefined || raw === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    die('usage', `${where} must be a port number 0-65535, got ${JSON.stringify(raw ?? null)}`)
  }
  return port
}

/** The value following `--name` on the command line, if any. */
export const argValue = (name) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

/**
 * Wait until `server` listens, refuse to run if it is not on the address we asked for, and print READY.
 * Returns the bound port.
 */
export const announce = async (server, host) => {
  if (!server.listening) await once(server, 'listening')
  const addr = server.address()
  if (!addr || typeof addr !== 'object' || addr.address !== host) {
    die('bind', `expected to listen on ${host}, listening on ${JSON.stringify(addr)}`)
  }
  const shown = host.includes(':') ? `[${host}]` : host
  process.stdout.write(`READY http://${shown}:${addr.port}\n`)
  return addr.port
}

/**
 * Run `stop` once on SIGTERM or SIGINT, then exit 0; exit 1 if it fails or takes longer than `graceMs`.
 * A second signal while stopping exits at once.
 */
export const onStopSignals = (name, stop, graceMs = 5000) => {
  let stopping = false
  const handler = async (signal) => {
    if (stopping) process.exit(1)
    stopping = true
    process.stderr.write(`${name}: ${signal}, stopping\n`)
    const timer = setTimeout(() => {
      process.stderr.write(`${name}: did not stop within ${graceMs} ms, exiting anyway\n`)
      process.exit(1)
    }, graceMs)
    timer.unref()
    try {
      await stop()
    } catch (err) {
      die(`${name}: error while stopping`, err)
    }
    process.stderr.write(`${name}: stopped\n`)
    process.exit(0)
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}
