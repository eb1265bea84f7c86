// Point this Node process's name resolution and TLS trust at atcheck's own servers, on request.
//
// Why: the identity suite checks domain handles (DNS TXT `_atproto.<handle>`, HTTPS
// `/.well-known/atproto-did`) and did:web documents (`/.well-known/did.json`). A PDS resolves those
// through the machine's resolver, port 443 and CA store, which on an offline test machine reach nothing.
// This is what a container's /etc/resolv.conf, /etc/hosts and CA bundle would give it, set for this
// process only, at run time: the PDS's own code (its HandleResolver, DidWebResolver, fetch) is untouched.
//
//   POST /atcheck/resolvers  (admin password as Bearer token), JSON body:
//     { "dns": ["127.0.0.1:5353"],          servers for dns.resolve* (both the callback and promise APIs)
//       "hosts": { "a.example": "127.0.0.1" }, names dns.lookup answers itself (what net/tls connect use)
//       "ca": "-----BEGIN CERTIFICATE-----..." } one more trusted root for TLS
//   { "reset": true } puts back the servers, lookup and CA store the process started with.

import dns from 'node:dns'
import { syncBuiltinESMExports } from 'node:module'
import tls from 'node:tls'

// The promise API's setServers rebinds its CommonJS exports only; ES modules that imported
// 'node:dns/promises' (as @atproto/identity does) see the change after syncBuiltinESMExports().
const dnsPromises = dns.promises

const original = {
  servers: dns.getServers(),
  promiseServers: dnsPromises.getServers(),
  lookup: dns.lookup,
  ca: tls.getCACertificates('default'),
}

let hosts = new Map()

/** dns.lookup with a hosts map in front: every call shape net.connect and undici use (callback, all). */
function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback
  const opts = typeof options === 'function' || options == null ? {} : typeof options === 'number' ? { family: options } : options
  const address = hosts.get(String(hostname).toLowerCase())
  if (address === undefined) return original.lookup.call(dns, hostname, options, callback)
  const family = address.includes(':') ? 6 : 4
  process.nextTick(() => (opts.all ? cb(null, [{ address, family }]) : cb(null, address, family)))
  return {}
}

const apply = (body) => {
  change(body)
  syncBuiltinESMExports()
}

const change = (body) => {
  if (body.reset === true) {
    dns.setServers(original.servers)
    dnsPromises.setServers(original.promiseServers)
    dns.lookup = original.lookup
    hosts = new Map()
    tls.setDefaultCACertificates(original.ca)
    return
  }
  if (body.dns !== undefined) {
    if (!Array.isArray(body.dns) || !body.dns.every((s) => typeof s === 'string')) {
      throw new Error('dns must be a list of "host:port" strings')
    }
    dns.setServers(body.dns)
    dnsPromises.setServers(body.dns)
  }
  if (body.hosts !== undefined) {
    if (typeof body.hosts !== 'object' || body.hosts === null) throw new Error('hosts must map names to addresses')
    hosts = new Map(Object.entries(body.hosts).map(([name, addr]) => [name.toLowerCase(), String(addr)]))
    dns.lookup = lookup
  }
  if (body.ca !== undefined) {
    if (typeof body.ca !== 'string') throw new Error('ca must be a PEM certificate')
    tls.setDefaultCACertificates([...original.ca, body.ca])
  }
}

/** Add the route to an express app; only the admin may call it. */
export const serveResolvers = (app, adminPassword) => {
  app.post('/atcheck/resolvers', async (req, res) => {
    if (!adminPassword || req.headers.authorization !== `Bearer ${adminPassword}`) {
      res.status(401).json({ error: 'AuthRequired', message: 'the admin password is required' })
      return
    }
    try {
      const chunks = []
      for await (const chunk of req) chunks.push(chunk)
      apply(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'))
    } catch (err) {
      res.status(400).json({ error: 'InvalidRequest', message: String(err?.message ?? err) })
      return
    }
    res.json({ dns: dnsPromises.getServers(), hosts: Object.fromEntries(hosts) })
  })
}
