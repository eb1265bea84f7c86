// atcheck differential oracle: @atproto/lexicon behind one long-lived process.
// Protocol: one JSON request per stdin line, one JSON response per stdout line, in order.
//   {"op":"load","lexicons":[doc,...]}            -> {"ok":true,"loaded":N,"skipped":[{"id","error"}]}
//   {"op":"validate","items":[{"nsid","part","value"}]} -> {"ok":true,"results":[{"valid":bool,"error":str|null}]}
//   {"op":"lint","lexicons":[doc,...]}             -> {"ok":true,"results":[{"valid":bool,"error":str|null}]}
//     (each document alone, through parseLexiconDoc: the reference's own schema check of a Lexicon document;
//      Lexicons.add itself checks nothing)
//   {"op":"version"}                               -> {"ok":true,"lexicon":"x.y.z","node":"vN"}
// part: "record" (assertValidRecord), "input"/"output" (assertValidXrpcInput/Output), "params".
import { createInterface } from 'node:readline'
import { readFileSync } from 'node:fs'
import { Lexicons, jsonToLex, parseLexiconDoc } from '@atproto/lexicon'

let lexicons = new Lexicons()

function load(docs) {
  lexicons = new Lexicons()
  const skipped = []
  let loaded = 0
  for (const doc of docs) {
    try {
      lexicons.add(doc)
      loaded++
    } catch (err) {
      skipped.push({ id: doc && doc.id, error: String(err && err.message ? err.message : err) })
    }
  }
  return { ok: true, loaded, skipped }
}

function validateOne({ nsid, part, value }) {
  try {
    const lexValue = jsonToLex(value)
    if (part === 'record') lexicons.assertValidRecord(nsid, lexValue)
    else if (part === 'input') lexicons.assertValidXrpcInput(nsid, lexValue)
    else if (part === 'output') lexicons.assertValidXrpcOutput(nsid, lexValue)
    else if (part === 'params') lexicons.assertValidXrpcParams(nsid, lexValue)
    else throw new Error(`unknown part ${part}`)
    return { valid: true, error: null }
  } catch (err) {
    return { valid: false, error: String(err && err.message ? err.message : err) }
  }
}

function handle(req) {
  switch (req.op) {
    case 'load':
      return load(req.lexicons)
    case 'lint':
      return {
        ok: true,
        results: req.lexicons.map((doc) => {
          try {
            parseLexiconDoc(doc)
            return { valid: true, error: null }
          } catch (err) {
            return { valid: false, error: String(err && err.message ? err.message : err) }
          }
        }),
      }
    case 'validate':
      return { ok: true, results: req.items.map(validateOne) }
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('./node_modules/@atproto/lexicon/package.json', import.meta.url)))
      return { ok: true, lexicon: pkg.version, node: process.version }
    }
    default:
      return { ok: false, error: `unknown op ${req.op}` }
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity })
rl.on('line', (line) => {
  let out
  try {
    out = handle(JSON.parse(line))
  } catch (err) {
    out = { ok: false, error: String(err && err.message ? err.message : err) }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
})
