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
)

const auditUsage = `usage:
  tocsin audit verify [--url U] [--token T]
  tocsin audit export [--format csv|json] [--from DATE] [--to DATE] [--activation ID] [--limit N] [--url U] [--token T]

verify recomputes the audit trail's hash chain on a running replica and
names the first entry that does not match, then checks that every
activation and every informed official has its entry, naming those that
do not; it fails when the chain is broken or an entry is missing. Entries
written but not chained yet are reported as pending. export prints the trail (DATE: AAAA-MM-JJ in Paris, or RFC 3339),
reading it N entries at a time (default 1000).`

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
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return errors.New(auditUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("tocsin audit "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, auditUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, format, from, to, activation string
	var limit int
	f.server(&base, &token)
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
		return exportAudit(ctx, base, token, q, stdout)
	}
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
		Missing      []unrecorded `json:"missing"`
		MissingCount int          `json:"missing_count"`
		Pending      []unrecorded `json:"pending"`
		PendingCount int          `json:"pending_count"`
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
	if !res.OK {
		fmt.Fprintf(stdout, "Journal d'audit INCOMPLET : chaîne intègre (%d entrées), mais %d enregistrement(s) sans leur entrée\n", res.Entries, res.MissingCount)
		return errEntriesMissing
	}
	fmt.Fprintf(stdout, "Journal d'audit intègre : %d entrées, dernière empreinte %s\n", res.Entries, res.Head)
	return nil
}

// exportAudit prints the trail page after page as one document: the CSV
// header once, or one JSON object with every entry and their count.
func exportAudit(ctx context.Context, base, token string, q url.Values, stdout io.Writer) error {
	csvFormat := q.Get("format") == "csv"
	count := 0
	if !csvFormat {
		q.Set("format", "json")
		io.WriteString(stdout, `{"entries":[`)
	}
	for first := true; ; first = false {
		body, h, err := apiDo(ctx, http.MethodGet, base, "/api/v1/audit?"+q.Encode(), token, nil)
		if err != nil {
			return err
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
		fmt.Fprintf(stdout, "],\"count\":%d}\n", count)
	}
	return nil
}

// nextAuditHeader is the server's header for the next page's cursor.
const nextAuditHeader = "Tocsin-Audit-Next"
