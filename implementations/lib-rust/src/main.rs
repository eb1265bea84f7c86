//! atcheck's harness for the rsky crates (rsky-syntax, rsky-crypto, rsky-repo, rsky-common), speaking
//! atcheck's library protocol: JSON lines on stdin/stdout (see src/atcheck/libs/PROTOCOL.md). Each op calls
//! rsky's own routine; an op rsky has no routine for answers "unsupported"; an Err is rsky's refusal.
//!
//! crypto.verify goes through rsky_crypto::verify::verify_signature_digest with the message's SHA-256: the
//! crate documents that its generic verify_signature gives the two curves different meanings of `data`
//! (k256 takes a digest, p256 hashes), and the digest entry point as the one that treats both alike.

use std::io::{BufRead, Write};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

enum Outcome {
    Result(Value),
    Unsupported,
}

fn b64(text: &str) -> Result<Vec<u8>> {
    let padded = format!("{}{}", text, "=".repeat((4 - text.len() % 4) % 4));
    Ok(STANDARD.decode(padded)?)
}

fn arg<'a>(args: &'a Value, name: &str) -> Result<&'a str> {
    args.get(name).and_then(Value::as_str).ok_or_else(|| anyhow!("missing {name}"))
}

fn syntax_valid(kind: &str, value: &str) -> Result<Outcome> {
    let checked: Result<()> = match kind {
        "handle" => rsky_syntax::handle::ensure_valid_handle(value).map_err(|e| anyhow!("{e:?}")),
        "did" => rsky_syntax::did::ensure_valid_did(value).map_err(|e| anyhow!("{e:?}")),
        "nsid" => rsky_syntax::nsid::ensure_valid_nsid(value).map_err(|e| anyhow!("{e:?}")),
        "tid" => rsky_syntax::tid::ensure_valid_tid(value).map_err(|e| anyhow!("{e:?}")),
        "record-key" => rsky_syntax::record_key::ensure_valid_record_key(value).map_err(|e| anyhow!("{e:?}")),
        "at-uri" => rsky_syntax::aturi_validation::ensure_valid_at_uri(value)
            .map(|_| ())
            .map_err(|e| anyhow!("{e:?}")),
        "datetime" => rsky_syntax::datetime::ensure_valid_datetime(value)
            .map(|_| ())
            .map_err(|e| anyhow!("{e:?}")),
        _ => return Ok(Outcome::Unsupported),
    };
    checked.map(|_| Outcome::Result(json!(true)))
}

async fn mst_root(entries: &Value) -> Result<Outcome> {
    use rsky_repo::mst::MST;
    use rsky_repo::storage::memory_blockstore::MemoryBlockstore;
    let storage = Arc::new(tokio::sync::RwLock::new(MemoryBlockstore::default()));
    let mut mst = MST::create(storage, None, None).await?;
    for entry in entries.as_array().ok_or_else(|| anyhow!("entries is not a list"))? {
        let key = entry.get(0).and_then(Value::as_str).ok_or_else(|| anyhow!("bad entry"))?;
        let cid = entry.get(1).and_then(Value::as_str).ok_or_else(|| anyhow!("bad entry"))?;
        mst = mst.add(key, cid::Cid::from_str(cid)?, None).await?;
    }
    Ok(Outcome::Result(json!(mst.get_pointer().await?.to_string())))
}

fn run(op: &str, args: &Value, rt: &tokio::runtime::Runtime) -> Result<Outcome> {
    match op {
        "syntax.valid" => syntax_valid(arg(args, "kind")?, arg(args, "value")?),
        "cid.of-bytes" => {
            let data = b64(arg(args, "bytes_b64")?)?;
            if arg(args, "codec")? != "raw" {
                return Ok(Outcome::Unsupported);
            }
            let digest = Sha256::digest(&data).to_vec();
            Ok(Outcome::Result(json!(rsky_common::ipld::sha256_to_cid(digest).to_string())))
        }
        "tid.next" => {
            let count = args.get("count").and_then(Value::as_u64).unwrap_or(0);
            let mut out = Vec::new();
            let mut prev: Option<String> = None;
            for _ in 0..count {
                let next = rsky_common::tid::TID::next_str(prev.clone())?;
                out.push(next.clone());
                prev = Some(next);
            }
            Ok(Outcome::Result(json!(out)))
        }
        "mst.root" => rt.block_on(mst_root(args.get("entries").unwrap_or(&Value::Null))),
        "crypto.verify" => {
            let did_key = arg(args, "did_key")?.to_string();
            let digest = Sha256::digest(b64(arg(args, "message_b64")?)?).to_vec();
            let sig = b64(arg(args, "signature_b64")?)?;
            let ok = rsky_crypto::verify::verify_signature_digest(&did_key, &digest, &sig, None)?;
            Ok(Outcome::Result(json!(ok)))
        }
        _ => Ok(Outcome::Unsupported),
    }
}

fn answer(request: &Value, rt: &tokio::runtime::Runtime) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let op = request.get("op").and_then(Value::as_str).unwrap_or("");
    let args = request.get("args").cloned().unwrap_or(Value::Null);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(op, &args, rt)));
    match outcome {
        Ok(Ok(Outcome::Result(value))) => json!({"id": id, "result": value}),
        Ok(Ok(Outcome::Unsupported)) => json!({"id": id, "unsupported": true}),
        Ok(Err(err)) => {
            let text: String = format!("{err:#}").chars().take(500).collect();
            json!({"id": id, "error": text})
        }
        Err(_) => json!({"id": id, "error": "panic in the library"}),
    }
}

fn main() {
    std::panic::set_hook(Box::new(|info| eprintln!("lib-rust harness: {info}")));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let request: Value = match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(_) => {
                eprintln!("lib-rust harness: not JSON: {}", line.chars().take(200).collect::<String>());
                continue;
            }
        };
        let reply = match request.get("cmd").and_then(Value::as_str) {
            Some("start") => json!({"ready": true, "implementation": {
                "name": "lib-rust", "language": "rust", "version": "rsky-repo 0.1.4",
                "libraries": {"rsky-syntax": "0.1.1", "rsky-crypto": "0.2.1", "rsky-repo": "0.1.4",
                              "rsky-common": "0.1.4"}}}),
            Some("stop") => break,
            _ => answer(&request, &rt),
        };
        let _ = writeln!(out, "{reply}");
        let _ = out.flush();
    }
}
