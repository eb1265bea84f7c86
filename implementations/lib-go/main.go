// atcheck's harness for indigo, Bluesky's Go AT Protocol packages (atproto/syntax, atproto/atdata,
// atproto/atcrypto, atproto/repo/mst, atproto/lexicon, atproto/identity), speaking atcheck's library
// protocol: JSON lines on stdin/stdout (see src/atcheck/libs/PROTOCOL.md). Each op calls indigo's own
// routine; a returned error is its refusal.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/lexicon"
	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

var errUnsupported = errors.New("unsupported")

type request struct {
	Cmd  string          `json:"cmd"`
	ID   *int64          `json:"id"`
	Op   string          `json:"op"`
	Args json.RawMessage `json:"args"`
}

type args struct {
	Kind         string            `json:"kind"`
	Value        string            `json:"value"`
	JSON         json.RawMessage   `json:"json"`
	BytesB64     string            `json:"bytes_b64"`
	Codec        string            `json:"codec"`
	Entries      [][2]string       `json:"entries"`
	DIDKey       string            `json:"did_key"`
	MessageB64   string            `json:"message_b64"`
	SignatureB64 string            `json:"signature_b64"`
	Alg          string            `json:"alg"`
	PrivateKey   string            `json:"private_key_hex"`
	Count        int               `json:"count"`
	Document     json.RawMessage   `json:"document"`
	Documents    []json.RawMessage `json:"documents"`
	NSID         string            `json:"nsid"`
	Def          string            `json:"def"`
	DNS          string            `json:"dns"`
	Raw          json.RawMessage   `json:"-"` // the args as sent (lexicon.validate's value is any JSON)
}

// catalogOf loads schema documents the way a program using indigo does: JSON into a SchemaFile, then
// AddSchemaFile (FinishParse and CheckSchema, indigo's checks of a schema).
func catalogOf(docs []json.RawMessage) (*lexicon.BaseCatalog, error) {
	cat := lexicon.NewBaseCatalog()
	for _, raw := range docs {
		var sf lexicon.SchemaFile
		if err := json.Unmarshal(raw, &sf); err != nil {
			return nil, err
		}
		if err := cat.AddSchemaFile(sf); err != nil {
			return nil, err
		}
	}
	return cat, nil
}

var syntaxChecks = map[string]func(string) error{
	"handle":        func(s string) error { _, err := syntax.ParseHandle(s); return err },
	"did":           func(s string) error { _, err := syntax.ParseDID(s); return err },
	"nsid":          func(s string) error { _, err := syntax.ParseNSID(s); return err },
	"tid":           func(s string) error { _, err := syntax.ParseTID(s); return err },
	"record-key":    func(s string) error { _, err := syntax.ParseRecordKey(s); return err },
	"at-uri":        func(s string) error { _, err := syntax.ParseATURI(s); return err },
	"datetime":      func(s string) error { _, err := syntax.ParseDatetime(s); return err },
	"language":      func(s string) error { _, err := syntax.ParseLanguage(s); return err },
	"cid":           func(s string) error { _, err := syntax.ParseCID(s); return err },
	"at-identifier": func(s string) error { _, err := syntax.ParseAtIdentifier(s); return err },
	"uri":           func(s string) error { _, err := syntax.ParseURI(s); return err },
}

func b64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s + strings.Repeat("=", (4-len(s)%4)%4))
}

func cidOf(data []byte, codec uint64) (string, error) {
	c, err := cid.NewPrefixV1(codec, multihash.SHA2_256).Sum(data)
	if err != nil {
		return "", err
	}
	return c.String(), nil
}

// lexiconAuthority is indigo's NSID -> DID step (identity.BaseDirectory.ResolveNSID, the `_lexicon` TXT
// lookup) with its DNS resolver dialling atcheck's server, the only address it may reach. indigo's one-call
// Lexicon resolvers (lexicon.ResolveLexiconData, ResolvingCatalog) make a BaseDirectory of their own with the
// system resolver, which nothing can point at atcheck's server: lexicon.resolve is unsupported.
func lexiconAuthority(a args) (any, error) {
	host, _, err := net.SplitHostPort(a.DNS)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return nil, fmt.Errorf("atcheck harness: the DNS server must be on 127.0.0.1, got %q", a.DNS)
	}
	nsid, err := syntax.ParseNSID(a.NSID)
	if err != nil {
		return nil, err
	}
	dir := identity.BaseDirectory{Resolver: net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, a.DNS)
		},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	did, err := dir.ResolveNSID(ctx, nsid)
	if err != nil {
		return nil, err
	}
	return did.String(), nil
}

func run(op string, a args) (any, error) {
	switch op {
	case "syntax.valid":
		check, ok := syntaxChecks[a.Kind]
		if !ok {
			return nil, errUnsupported
		}
		if err := check(a.Value); err != nil {
			return nil, err
		}
		return true, nil
	case "cbor.encode":
		obj, err := atdata.UnmarshalJSON(a.JSON)
		if err != nil {
			return nil, err
		}
		data, err := atdata.MarshalCBOR(obj)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString(data), nil
	case "cbor.decode":
		data, err := b64(a.BytesB64)
		if err != nil {
			return nil, err
		}
		obj, err := atdata.UnmarshalCBOR(data)
		if err != nil {
			return nil, err
		}
		return obj, nil // atdata's types marshal to the data model's JSON form
	case "cid.of-bytes":
		data, err := b64(a.BytesB64)
		if err != nil {
			return nil, err
		}
		switch a.Codec {
		case "raw":
			return cidOf(data, cid.Raw)
		case "dag-cbor":
			return cidOf(data, cid.DagCBOR)
		}
		return nil, errUnsupported
	case "cid.of-record":
		obj, err := atdata.UnmarshalJSON(a.JSON)
		if err != nil {
			return nil, err
		}
		data, err := atdata.MarshalCBOR(obj)
		if err != nil {
			return nil, err
		}
		return cidOf(data, cid.DagCBOR)
	case "mst.root":
		tree := mst.NewEmptyTree()
		for _, entry := range a.Entries {
			c, err := cid.Decode(entry[1])
			if err != nil {
				return nil, err
			}
			if _, err := tree.Insert([]byte(entry[0]), c); err != nil {
				return nil, err
			}
		}
		root, err := tree.RootCID()
		if err != nil {
			return nil, err
		}
		return root.String(), nil
	case "data.blobs":
		obj, err := atdata.UnmarshalJSON(a.JSON)
		if err != nil {
			return nil, err
		}
		found := []string{}
		for _, blob := range atdata.ExtractBlobs(obj) {
			found = append(found, blob.Ref.String())
		}
		sort.Strings(found)
		return found, nil
	case "tid.next":
		clock := syntax.NewTIDClock(0)
		out := make([]string, 0, a.Count)
		for i := 0; i < a.Count; i++ {
			out = append(out, clock.Next().String())
		}
		return out, nil
	case "crypto.verify":
		pub, err := atcrypto.ParsePublicDIDKey(a.DIDKey)
		if err != nil {
			return nil, err
		}
		msg, err := b64(a.MessageB64)
		if err != nil {
			return nil, err
		}
		sig, err := b64(a.SignatureB64)
		if err != nil {
			return nil, err
		}
		if err := pub.HashAndVerify(msg, sig); err != nil {
			return nil, err
		}
		return true, nil
	case "crypto.sign":
		raw, err := hexBytes(a.PrivateKey)
		if err != nil {
			return nil, err
		}
		msg, err := b64(a.MessageB64)
		if err != nil {
			return nil, err
		}
		var sig []byte
		switch a.Alg {
		case "k256":
			key, err := atcrypto.ParsePrivateBytesK256(raw)
			if err != nil {
				return nil, err
			}
			sig, err = key.HashAndSign(msg)
			if err != nil {
				return nil, err
			}
		case "p256":
			key, err := atcrypto.ParsePrivateBytesP256(raw)
			if err != nil {
				return nil, err
			}
			sig, err = key.HashAndSign(msg)
			if err != nil {
				return nil, err
			}
		default:
			return nil, errUnsupported
		}
		return base64.StdEncoding.EncodeToString(sig), nil
	case "lexicon.authority":
		return lexiconAuthority(a)
	case "lexicon.valid":
		if _, err := catalogOf([]json.RawMessage{a.Document}); err != nil {
			return nil, err
		}
		return true, nil
	case "lexicon.validate":
		// indigo validates records only (ValidateRecord); data against any other def is unsupported.
		if a.Def != "main" {
			return nil, errUnsupported
		}
		cat, err := catalogOf(a.Documents)
		if err != nil {
			return nil, err
		}
		schema, err := cat.Resolve(a.NSID)
		if err != nil {
			return nil, err
		}
		if _, ok := schema.Def.(lexicon.SchemaRecord); !ok {
			return nil, errUnsupported
		}
		var data struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(a.Raw, &data); err != nil {
			return nil, err
		}
		value, err := atdata.UnmarshalJSON(data.Value)
		if err != nil {
			return nil, err
		}
		if err := lexicon.ValidateRecord(cat, value, a.NSID, 0); err != nil {
			return nil, err
		}
		return true, nil
	}
	return nil, errUnsupported
}

func hexBytes(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	_, err := fmt.Sscanf(s, "%x", &out)
	return out, err
}

func answer(req request) (reply map[string]any) {
	reply = map[string]any{"id": req.ID}
	defer func() {
		if r := recover(); r != nil {
			reply = map[string]any{"id": req.ID, "error": fmt.Sprintf("panic: %v", r)}
		}
	}()
	var a args
	if len(req.Args) > 0 {
		if req.Op != "lexicon.validate" {
			if err := json.Unmarshal(req.Args, &a); err != nil {
				reply["error"] = "bad args: " + err.Error()
				return reply
			}
		} else {
			var docs struct {
				Documents []json.RawMessage `json:"documents"`
				NSID      string            `json:"nsid"`
				Def       string            `json:"def"`
			}
			if err := json.Unmarshal(req.Args, &docs); err != nil {
				reply["error"] = "bad args: " + err.Error()
				return reply
			}
			a.Documents, a.NSID, a.Def = docs.Documents, docs.NSID, docs.Def
		}
		a.Raw = req.Args
	}
	result, err := run(req.Op, a)
	switch {
	case errors.Is(err, errUnsupported):
		reply["unsupported"] = true
	case err != nil:
		msg := err.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		reply["error"] = msg
	default:
		reply["result"] = result
	}
	return reply
}

func versions() map[string]string {
	out := map[string]string{"go": "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		out["go"] = info.GoVersion
		for _, dep := range info.Deps {
			if dep.Path == "github.com/bluesky-social/indigo" || dep.Path == "github.com/ipfs/go-cid" {
				out[dep.Path] = dep.Version
			}
		}
	}
	return out
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var req request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				fmt.Fprintf(os.Stderr, "lib-go harness: not JSON: %.200s\n", line)
			} else if req.Cmd == "start" {
				libs := versions()
				_ = enc.Encode(map[string]any{"ready": true, "implementation": map[string]any{
					"name": "lib-go", "language": "go", "version": libs["github.com/bluesky-social/indigo"],
					"libraries": libs,
				}})
			} else if req.Cmd == "stop" {
				out.Flush()
				return
			} else {
				reply := answer(req)
				if eerr := enc.Encode(reply); eerr != nil {
					_ = enc.Encode(map[string]any{"id": req.ID, "error": "unserialisable result: " + eerr.Error()})
				}
			}
			out.Flush()
		}
		if err != nil {
			return
		}
	}
}
