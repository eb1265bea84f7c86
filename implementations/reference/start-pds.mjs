// Start the reference PDS (@atproto/pds) for atcheck, configured entirely from PDS_* environment variables.
//
//   PDS_PORT=2583 PDS_HOSTNAME=localhost PDS_DATA_DIRECTORY=... node start-pds.mjs
//
// The same steps as the official Docker image (readEnv -> envToCfg -> envToSecrets -> PDS.create -> start),
// except that it listens on 127.0.0.1 only: PDS.start() calls app.listen(port), which binds every
// interface, so we wrap app.listen to add the host before start() runs.
//
// One addition for atcheck, beside the PDS's own routes: GET /atcheck/outbox (admin password as Bearer
// token) lists the emails the PDS sent, newest last. The PDS mails tokens (PLC operation, account deletion,
// email update) that the official flows need; with no SMTP server configured it would drop them.
// And POST /atcheck/resolvers (resolvers.mjs): points this process's DNS, host names and CA store at
// atcheck's own DNS and HTTPS servers, for the domain-handle and did:web checks of the identity suite.

import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'

import { announce, bindHost, die, onStopSignals } from './lib.mjs'
import { serveResolvers } from './resolvers.mjs'

const main = async () => {
  const env = readEnv()
  let cfg
  let secrets
  try {
    cfg = envToCfg(env)
    secrets = envToSecrets(env)
  } catch (err) {
    die('pds: bad configuration', err)
  }
  const pds = await PDS.create(cfg, secrets)
  keepOutbox(pds, env.adminPassword)
  serveResolvers(pds.app, env.adminPassword)
  const host = bindHost()
  const listen = pds.app.listen
  pds.app.listen = (port, ...rest) => {
    const args = typeof rest[0] === 'string' ? rest : [host, ...rest]
    const server = listen.call(pds.app, port, ...args)
    server.on('error', (err) => die('pds: cannot listen', err))
    return server
  }
  const server = await pds.start()
  await announce(server, host)
  onStopSignals('pds', () => pds.destroy())
}

/** Keep every email the PDS sends (at most OUTBOX_LIMIT), readable at GET /atcheck/outbox by the admin. */
const OUTBOX_LIMIT = 200
const keepOutbox = (pds, adminPassword) => {
  const outbox = []
  const transporter = pds.ctx.mailer.transporter
  const send = transporter.sendMail.bind(transporter)
  transporter.sendMail = async (mail) => {
    const sent = await send(mail)
    outbox.push({ to: String(mail.to ?? ''), subject: String(mail.subject ?? ''), html: String(mail.html ?? '') })
    if (outbox.length > OUTBOX_LIMIT) outbox.shift()
    return sent
  }
  pds.app.get('/atcheck/outbox', (req, res) => {
    if (!adminPassword || req.headers.authorization !== `Bearer ${adminPassword}`) {
      res.status(401).json({ error: 'AuthRequired', message: 'the admin password is required' })
      return
    }
    const to = typeof req.query.to === 'string' ? req.query.to : undefined
    res.json({ emails: outbox.filter((m) => to === undefined || m.to === to) })
  })
}

main().catch((err) => die('pds: failed to start', err))
