// Start the reference PDS (@atproto/pds) for atcheck, configured entirely from PDS_* environment variables.
//
//   PDS_PORT=2583 PDS_HOSTNAME=localhost PDS_DATA_DIRECTORY=... node start-pds.mjs
//
// The same steps as the official Docker image (readEnv -> envToCfg -> envToSecrets -> PDS.create -> start),
// except that it listens on 127.0.0.1 only: PDS.start() calls app.listen(port), which binds every
// interface, so we wrap app.listen to add the host before start() runs.

import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'

import { announce, bindHost, die, onStopSignals } from './lib.mjs'

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

main().catch((err) => die('pds: failed to start', err))
