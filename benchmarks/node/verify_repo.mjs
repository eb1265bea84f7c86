// @atproto/repo's own repository verifier, timed in-process, for benchmarks/peers_repo_verify.py.
//
//   node verify_repo.mjs REFERENCE_DIR CAR DID DID_KEY REPEAT
//
// REFERENCE_DIR is the reference install (scripts/setup-node.sh), whose node_modules holds @atproto/repo as a
// dependency of @atproto/pds: nothing is installed for this benchmark. Prints one JSON line:
// {"times_s": [...], "records": N, "version": "..."}; the file is read once, before the timed runs.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [refDir, carPath, did, didKey, repeatArg] = process.argv.slice(2)
const pkgDir = join(refDir, 'node_modules', '@atproto', 'repo')
const repo = await import(pathToFileURL(join(pkgDir, 'dist', 'index.js')).href)
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version
const car = new Uint8Array(readFileSync(carPath))
const times = []
let records = 0
for (let i = 0; i < Number(repeatArg || 3); i++) {
  const started = process.hrtime.bigint()
  const verified = await repo.verifyRepoCar(car, did, didKey)
  times.push(Number(process.hrtime.bigint() - started) / 1e9)
  records = verified.creates.length
}
process.stdout.write(JSON.stringify({ times_s: times, records, version }) + '\n')
