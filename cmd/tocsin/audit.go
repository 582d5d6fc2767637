package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/web"
)

const auditUsage = `usage:
  tocsin audit verify [--checkpoints FILE --public-key KEY[,KEY2]] [--url U] [--token T]
  tocsin audit export [--format csv|json] [--from DATE] [--to DATE] [--activation ID] [--limit N] [--url U] [--token T]
  tocsin audit keygen [-o FILE]

verify recomputes the audit trail's hash chain on a running replica and
names the first entry that does not match, then checks that every
activation and every informed official has its entry, naming those that
do not; it fails when the chain is broken or an entry is missing. Entries
written but not chained yet are reported as pending. The replica also
checks the trail against its own signed checkpoints. With --checkpoints,
verify reads the trail itself and checks it against the checkpoints of
FILE (a replica's checkpoint file, or lines kept from exports) signed by
one of the public keys KEY (ed25519:… as keygen prints it, or a file):
a trail rewritten or cut since a checkpoint is named, and so is a
checkpoint line that is forged or signed by an unknown key.
export prints the trail (DATE: AAAA-MM-JJ in Paris, or RFC 3339),
reading it N entries at a time (default 1000).
keygen makes the key pair that signs the checkpoints: the private key in
FILE (default audit-signing.key, mode 0600, never overwritten), the public
key in FILE.pub and on the standard output.`

// errChainBroken makes the command exit non-zero once the break is printed.
var errChainBroken = errors.New("journal d'audit altéré")

// errEntriesMissing makes the command exit non-zero once the records
// without their entry are printed.
var errEntriesMissing = errors.New("journal d'audit incomplet")

// unrecorded is a record of the store the trail does not account for.
type unrecorded struct {
	Activation string `json:"activation"`
	Official   string `json:"official"`
	Reason     string `json:"reason"`
}

func (u unrecorded) String() string {
	who := "activation " + u.Activation
	if u.Official != "" {
		who += ", élu " + u.Official
	}
	return who + " : " + u.Reason
}

// auditCmd verifies or exports the audit trail of a running replica.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export" && args[0] != "keygen") {
		return errors.New(auditUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "keygen" {
		return keygenCmd(args, stdout, stderr)
	}
	fs := flag.NewFlagSet("tocsin audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, auditUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, format, from, to, activation, checkpoints, publicKeys string
	var limit int
	f.server(&base, &token)
	if sub == "verify" {
		fs.StringVar(&checkpoints, "checkpoints", "", "file of signed checkpoints to check the trail against")
		fs.StringVar(&publicKeys, "public-key", "", "public keys the checkpoints are signed with, comma-separated: ed25519:… or files")
	}
	if sub == "export" {
		fs.StringVar(&format, "format", "csv", "csv or json")
		fs.StringVar(&from, "from", "", "first instant")
		fs.StringVar(&to, "to", "", "end instant (excluded)")
		fs.StringVar(&activation, "activation", "", "only the entries of this activation")
		fs.IntVar(&limit, "limit", 1000, "entries read per request")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.applySecrets()
	if fs.NArg() > 0 {
		return errors.New(auditUsage)
	}
	token = apiToken(token, getenv)
	if sub == "export" {
		if format != "csv" && format != "json" {
			return fmt.Errorf("format %q inconnu : csv ou json", format)
		}
		q := url.Values{"format": {format}, "limit": {strconv.Itoa(limit)}}
		for k, v := range map[string]string{"from": from, "to": to, "activation": activation} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return exportAudit(ctx, base, token, q, stdout, stderr)
	}
	var keys audit.Keyring
	if checkpoints != "" || publicKeys != "" {
		if checkpoints == "" || publicKeys == "" {
			return errors.New("--checkpoints et --public-key vont ensemble : le fichier des points de contrôle et la clé publique qui les a signés")
		}
		var err error
		if keys, err = readPublicKeys(publicKeys); err != nil {
			return err
		}
	}
	err := verifyOnReplica(ctx, base, token, stdout)
	verdict := errors.Is(err, errChainBroken) || errors.Is(err, errEntriesMissing) || errors.Is(err, errCheckpointsInvalid)
	if checkpoints == "" || (err != nil && !verdict) {
		return err
	}
	// The auditor's own check runs whatever the replica found: it is the
	// one that does not trust the replica.
	return errors.Join(err, verifyCheckpoints(ctx, base, token, checkpoints, keys, stdout))
}

// verifyOnReplica asks a replica to verify the trail and prints what it
// found.
func verifyOnReplica(ctx context.Context, base, token string, stdout io.Writer) error {
	body, err := apiGet(ctx, base, "/api/v1/audit/verify", token)
	if err != nil {
		return err
	}
	var res struct {
		OK      bool   `json:"ok"`
		Entries int    `json:"entries"`
		Head    string `json:"head"`
		Break   *struct {
			Seq    uint64 `json:"seq"`
			Reason string `json:"reason"`
		} `json:"break"`
		Missing      []unrecorded        `json:"missing"`
		MissingCount int                 `json:"missing_count"`
		Pending      []unrecorded        `json:"pending"`
		PendingCount int                 `json:"pending_count"`
		Anchor       *audit.AnchorReport `json:"anchor"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("réponse illisible : %w", err)
	}
	if !res.OK && res.Break != nil {
		fmt.Fprintf(stdout, "Journal d'audit ALTÉRÉ à l'entrée n° %d : %s\n", res.Break.Seq, res.Break.Reason)
		return errChainBroken
	}
	list := func(title string, us []unrecorded, count int) {
		if count == 0 {
			return
		}
		fmt.Fprintf(stdout, "%s (%d) :\n", title, count)
		for _, u := range us {
			fmt.Fprintf(stdout, "  - %s\n", u)
		}
		if count > len(us) {
			fmt.Fprintf(stdout, "  … et %d autres\n", count-len(us))
		}
	}
	list("Enregistrements sans leur entrée au journal", res.Missing, res.MissingCount)
	list("Entrées en attente (écrites avec leur changement, pas encore chaînées)", res.Pending, res.PendingCount)
	invalid := res.Anchor != nil && printAnchor(stdout, "ce réplica", *res.Anchor)
	if res.MissingCount > 0 {
		fmt.Fprintf(stdout, "Journal d'audit INCOMPLET : chaîne intègre (%d entrées), mais %d enregistrement(s) sans leur entrée\n", res.Entries, res.MissingCount)
		return errEntriesMissing
	}
	if invalid {
		return errCheckpointsInvalid
	}
	fmt.Fprintf(stdout, "Journal d'audit intègre : %d entrées, dernière empreinte %s\n", res.Entries, res.Head)
	return nil
}

// exportAudit prints the trail page after page as one document: the CSV
// header once, or one JSON object with every entry, their count and the
// signed checkpoint the export carries. A CSV export's checkpoint goes to
// stderr, to be kept beside it.
func exportAudit(ctx context.Context, base, token string, q url.Values, stdout, stderr io.Writer) error {
	csvFormat := q.Get("format") == "csv"
	count := 0
	var checkpoint string
	if !csvFormat {
		q.Set("format", "json")
		io.WriteString(stdout, `{"entries":[`)
	}
	for first := true; ; first = false {
		body, h, err := apiDo(ctx, http.MethodGet, base, "/api/v1/audit?"+q.Encode(), token, nil)
		if err != nil {
			return err
		}
		if first {
			checkpoint = h.Get(web.CheckpointHeader)
		}
		if csvFormat {
			if !first {
				_, body, _ = bytes.Cut(body, []byte("\n")) // the header, once
			}
			if _, err := stdout.Write(body); err != nil {
				return err
			}
		} else {
			var page struct {
				Entries []json.RawMessage `json:"entries"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				return fmt.Errorf("réponse illisible : %w", err)
			}
			for _, e := range page.Entries {
				if count > 0 {
					io.WriteString(stdout, ",")
				}
				count++
				stdout.Write(e)
			}
		}
		next := h.Get(nextAuditHeader)
		if next == "" {
			break
		}
		if next == q.Get("after") {
			return fmt.Errorf("le serveur redonne la même page (après l'entrée n° %s)", next)
		}
		q.Set("after", next)
	}
	if !csvFormat {
		fmt.Fprintf(stdout, "],\"count\":%d", count)
		if json.Valid([]byte(checkpoint)) {
			fmt.Fprintf(stdout, ",\"checkpoint\":%s", checkpoint)
		}
		io.WriteString(stdout, "}\n")
	} else if checkpoint != "" {
		fmt.Fprintf(stderr, "Point de contrôle signé de cet export (à garder pour tocsin audit verify --checkpoints) :\n%s\n", checkpoint)
	}
	return nil
}

// nextAuditHeader is the server's header for the next page's cursor.
const nextAuditHeader = "Tocsin-Audit-Next"
