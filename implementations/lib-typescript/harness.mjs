// atcheck's harness for the TypeScript AT Protocol libraries (@atproto/syntax, @atproto/lex-cbor,
// @atproto/lex-data, @atproto/crypto, @atproto/repo, @atproto/lexicon, @atproto/lex-resolver), speaking
// atcheck's library protocol: JSON lines on stdin/stdout (see src/atcheck/libs/PROTOCOL.md). Each op calls
// the library's own routine; an op the libraries have no routine for answers "unsupported". A thrown error
// is the library's refusal.
import { createInterface } from 'node:readline'
import { readFileSync } from 'node:fs'
import { createRequire, syncBuiltinESMExports } from 'node:module'
import dns from 'node:dns'
import * as syntax from '@atproto/syntax'
import * as cbor from '@atproto/lex-cbor'
import * as lexData from '@atproto/lex-data'
import * as lexJson from '@atproto/lex-json'
import * as crypto from '@atproto/crypto'
import { MST, MemoryBlockstore } from '@atproto/repo'
import { TID } from '@atproto/common-web'
import { Lexicons, parseLexiconDoc } from '@atproto/lexicon'
import { LexResolver, NSID } from '@atproto/lex-resolver'

class Unsupported extends Error {}

const ensure = (fn) => (value) => {
  fn(value)
  return true
}
const check = (fn) => (value) => {
  if (!fn(value)) throw new Error('the library says invalid')
  return true
}

const SYNTAX = {
  handle: ensure(syntax.ensureValidHandle),
  did: ensure(syntax.ensureValidDid),
  nsid: ensure(syntax.ensureValidNsid),
  tid: ensure(syntax.ensureValidTid),
  'record-key': ensure(syntax.ensureValidRecordKey),
  'at-uri': ensure(syntax.ensureValidAtUri),
  datetime: ensure(syntax.ensureValidDatetime),
  language: check(syntax.isValidLanguage),
  cid: ensure(lexData.ensureValidCidString),
  'at-identifier': ensure(syntax.ensureValidAtIdentifier),
  uri: check(syntax.isValidUri),
}

// Lexicon resolution talks to atcheck's servers only: the DNS server atcheck names (LexResolver looks TXT
// records up with resolveTxt imported from node:dns/promises, so the default resolver's servers are set per
// request; setServers rebinds the CommonJS exports only, and syncBuiltinESMExports carries the change to ES
// module imports) and the run's PLC and PDS, which are loopback URLs. Any other host is refused here, so
// nothing leaves 127.0.0.1.
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])
const loopbackFetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input))
  if (!LOOPBACK.has(url.hostname)) {
    const refused = `atcheck harness: refused a request to ${url.host} (only 127.0.0.1 is reachable)`
    return Promise.reject(new Error(refused))
  }
  return globalThis.fetch(input, init)
}
const lexResolver = ({ dns: server, plc }) => {
  const host = String(server ?? '').replace(/:\d+$/, '')
  if (!LOOPBACK.has(host)) throw new Error(`atcheck harness: the DNS server must be on 127.0.0.1, got ${server}`)
  dns.promises.setServers([server])
  syncBuiltinESMExports()
  // A new resolver per request: no DID document cached from an earlier case.
  return new LexResolver({ plcDirectoryUrl: plc, fetch: loopbackFetch })
}

const b64 = (text) => new Uint8Array(Buffer.from(text, 'base64'))
const toB64 = (bytes) => Buffer.from(bytes).toString('base64')

const OPS = {
  'syntax.valid': ({ kind, value }) => {
    const fn = SYNTAX[kind]
    if (!fn) throw new Unsupported()
    return fn(value)
  },
  'cbor.encode': ({ json }) => toB64(cbor.encode(lexJson.jsonToLex(json))),
  'cbor.decode': ({ bytes_b64 }) => lexJson.lexToJson(cbor.decode(b64(bytes_b64))),
  'cid.of-bytes': async ({ bytes_b64, codec }) => {
    const bytes = b64(bytes_b64)
    if (codec === 'raw') return (await lexData.cidForRawBytes(bytes)).toString()
    if (codec === 'dag-cbor') return (await lexData.cidForCbor(bytes)).toString()
    throw new Unsupported()
  },
  'cid.of-record': async ({ json }) => (await cbor.cidForLex(lexJson.jsonToLex(json))).toString(),
  'mst.root': async ({ entries }) => {
    let mst = await MST.create(new MemoryBlockstore())
    for (const [key, cid] of entries) {
      mst = await mst.add(key, lexData.parseCid(cid))
    }
    return (await mst.getPointer()).toString()
  },
  'data.blobs': ({ json }) =>
    [...lexData.enumBlobRefs(lexJson.jsonToLex(json))].map((ref) => lexData.getBlobCidString(ref)).sort(),
  'tid.next': ({ count }) => {
    const out = []
    for (let i = 0; i < count; i++) out.push(TID.nextStr())
    return out
  },
  'crypto.verify': async ({ did_key, message_b64, signature_b64 }) =>
    await crypto.verifySignature(did_key, b64(message_b64), b64(signature_b64)),
  'crypto.sign': async ({ alg, message_b64, private_key_hex }) => {
    const Keypair = alg === 'p256' ? crypto.P256Keypair : alg === 'k256' ? crypto.Secp256k1Keypair : null
    if (!Keypair) throw new Unsupported()
    const keypair = await Keypair.import(private_key_hex)
    return toB64(await keypair.sign(b64(message_b64)))
  },
  // parseLexiconDoc checks the document against @atproto/lexicon's own (zod) schema of Lexicon documents;
  // Lexicons.add then resolves its refs to full URIs, as a program loading a schema would.
  'lexicon.valid': ({ document }) => {
    new Lexicons().add(parseLexiconDoc(document))
    return true
  },
  // Data against a def: a record def through assertValidRecord (which also wants `$type`), any other def
  // through validate; a schema set the library refuses is an error, so no verdict on the data. The value
  // arrives in JSON form and is read with jsonToLex ($bytes to bytes, $link to a CID) as a record read from
  // JSON would be.
  'lexicon.validate': ({ documents, nsid, def, value: json }) => {
    const value = lexJson.jsonToLex(json)
    const lexicons = new Lexicons(documents.map(parseLexiconDoc))
    const uri = def === 'main' ? nsid : `${nsid}#${def}`
    if (lexicons.getDefOrThrow(uri).type === 'record') {
      lexicons.assertValidRecord(uri, value)
      return true
    }
    const result = lexicons.validate(uri, value)
    if (!result.success) throw result.error
    return true
  },
  // NSID -> DID: the `_lexicon` TXT lookup alone (LexResolver.resolve, the first step of get).
  'lexicon.authority': async (args) => await lexResolver(args).resolve(NSID.from(args.nsid)),
  // NSID -> the schema record, the whole way (LexResolver.get: DNS, DID document, com.atproto.sync.getRecord
  // with its proof checked, the document checked).
  'lexicon.resolve': async (args) => {
    const { uri, cid, lexicon } = await lexResolver(args).get(args.nsid)
    return { uri: uri.toString(), cid: cid.toString(), schema: lexJson.lexToJson(lexicon) }
  },
}

function versions() {
  const require = createRequire(import.meta.url)
  const out = {}
  for (const name of ['syntax', 'lex-cbor', 'lex-data', 'lex-json', 'crypto', 'repo', 'common-web', 'lexicon', 'lex-resolver']) {
    try {
      const path = require.resolve(`@atproto/${name}`).replace(/dist\/index\.js$/, 'package.json')
      out[`@atproto/${name}`] = JSON.parse(readFileSync(path, 'utf8')).version
    } catch {
      out[`@atproto/${name}`] = 'unknown'
    }
  }
  return out
}

async function answer(request) {
  const op = OPS[request.op]
  if (!op) return { id: request.id, unsupported: true }
  try {
    return { id: request.id, result: await op(request.args || {}) }
  } catch (err) {
    if (err instanceof Unsupported) return { id: request.id, unsupported: true }
    return { id: request.id, error: `${err?.name ?? 'Error'}: ${err?.message ?? err}`.slice(0, 500) }
  }
}

const write = (obj) => {
  let line
  try {
    line = JSON.stringify(obj)
  } catch (err) {
    line = JSON.stringify({ id: obj.id, error: `unserialisable result: ${err}` })
  }
  process.stdout.write(line + '\n')
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let request
  try {
    // JSON numbers beyond 2^53 reach the library as BigInt (as @atproto's own JSON parsing would hand
    // them over), not silently rounded by JSON.parse: whether it takes them is then the library's answer.
    request = JSON.parse(line, (key, value, context) =>
      typeof value === 'number' && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? '')
        ? BigInt(context.source)
        : value,
    )
  } catch {
    process.stderr.write(`lib-typescript harness: not JSON: ${line.slice(0, 200)}\n`)
    continue
  }
  if (request.cmd === 'start') {
    const libraries = versions()
    write({
      ready: true,
      implementation: {
        name: 'lib-typescript',
        language: 'typescript',
        version: libraries['@atproto/repo'],
        libraries: { node: process.versions.node, ...libraries },
      },
    })
  } else if (request.cmd === 'stop') {
    break
  } else {
    write(await answer(request))
  }
}
process.exit(0)
