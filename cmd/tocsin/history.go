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
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/web"
)

const historyUsage = `usage:
  tocsin history import FILE [--url U] [--token T]
  tocsin history export [--from 2026-01] [--to 2026-03] [--open] [-o FILE] [--url U] [--token T]

import reads a history file (JSON Lines, docs/history.md) into a running
replica, as an administrator: every line is checked first, and on any
error nothing is imported and each error is printed with its line and
field. Records already imported with the same content are skipped, so a
file can be imported again. export writes the activations and exercises
whose activation falls between --from and --to in the same format, to
FILE or the standard output: Paris months AAAA-MM (both included), or
RFC 3339 instants (--to excluded); a bound left out is open. Activations
still open are left out, and named, unless --open: their record would read
as closed.`

// errImportRefused makes the command exit non-zero once the errors are
// printed.
var errImportRefused = errors.New("historique refusé : rien n'a été importé")

// maxHistoryFile bounds the file read; the server takes as much.
const maxHistoryFile = 64 << 20

// historyCmd imports a history file into a running replica, or exports
// its history.
func historyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		return errors.New(historyUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("tocsin history "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, historyUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, from, to, out string
	var withOpen bool
	f.server(&base, &token)
	if sub == "export" {
		fs.BoolVar(&withOpen, "open", false, "also write the activations still open, without closed_at")
		fs.StringVar(&from, "from", "", "first month AAAA-MM, or an RFC 3339 instant")
		fs.StringVar(&to, "to", "", "last month AAAA-MM (included), or an RFC 3339 instant (excluded)")
		fs.StringVar(&out, "o", "", "write to this file instead of the standard output")
	}
	// The file may come before the flags: tocsin history import f.jsonl --url U.
	var file string
	if sub == "import" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.applySecrets()
	token = apiToken(token, getenv)
	if sub == "export" {
		if fs.NArg() > 0 {
			return errors.New(historyUsage)
		}
		q := url.Values{}
		for k, v := range map[string]string{"from": from, "to": to} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if withOpen {
			q.Set("include_open", "true")
		}
		body, header, err := apiDo(ctx, http.MethodGet, base, "/api/v1/history?"+q.Encode(), token, nil)
		if err != nil {
			return err
		}
		if left := header.Get(web.LeftOutHeader); left != "" {
			ids := strings.Split(left, ",")
			fmt.Fprintf(stderr, "%d activations en cours non exportées (--open pour les écrire sans date de clôture) : %s\n",
				len(ids), strings.Join(ids, ", "))
		}
		checkpoint := header.Get(web.CheckpointHeader)
		if out == "" {
			if checkpoint != "" {
				fmt.Fprintf(stderr, "Point de contrôle signé de cet export (à garder pour tocsin audit verify --checkpoints) :\n%s\n", checkpoint)
			}
			_, err = stdout.Write(body)
			return err
		}
		if err := os.WriteFile(out, body, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d lignes écrites dans %s\n", bytes.Count(body, []byte("\n")), out)
		if checkpoint != "" {
			// Kept beside the export, in the checkpoint file's format, for
			// tocsin audit verify --checkpoints.
			if err := os.WriteFile(out+".checkpoint", []byte(checkpoint+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Point de contrôle signé de cet export écrit dans %s.checkpoint\n", out)
		}
		return nil
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if file == "" || fs.NArg() > 0 {
		return errors.New(historyUsage)
	}
	return importHistory(ctx, base, token, file, stdout)
}

// importHistory posts a history file and prints what the replica did, or
// every error it found.
func importHistory(ctx context.Context, base, token, file string, stdout io.Writer) error {
	if token == "" {
		return errors.New("un jeton d'API est nécessaire : --token ou TOCSIN_TOKEN")
	}
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxHistoryFile+1))
	if err != nil {
		return err
	}
	if len(data) > maxHistoryFile {
		return fmt.Errorf("%s : plus de %d Mio, découpez le fichier", file, maxHistoryFile>>20)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	target := strings.TrimSuffix(base, "/") + "/api/v1/history?" + url.Values{"file": {filepath.Base(file)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/jsonl")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("Tocsin injoignable à %s : %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var res struct {
		Imported       int      `json:"imported"`
		AlreadyPresent int      `json:"already_present"`
		ImportedIDs    []string `json:"imported_ids"`
		Error          *struct {
			Message string   `json:"message"`
			Field   string   `json:"field"`
			Details []string `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("le serveur a répondu HTTP %d", resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		fmt.Fprintf(stdout, "%s : %d activations importées, %d déjà présentes\n", file, res.Imported, res.AlreadyPresent)
		for _, id := range res.ImportedIDs {
			fmt.Fprintln(stdout, "  importée :", id)
		}
		return nil
	case res.Error != nil && resp.StatusCode == http.StatusUnprocessableEntity:
		if len(res.Error.Details) == 0 {
			res.Error.Details = []string{strings.TrimPrefix(res.Error.Field+" : "+res.Error.Message, " : ")}
		}
		fmt.Fprintf(stdout, "%s : %d erreurs, rien n'a été importé\n", file, len(res.Error.Details))
		for _, d := range res.Error.Details {
			fmt.Fprintln(stdout, "  "+d)
		}
		return errImportRefused
	case res.Error != nil:
		return fmt.Errorf("%s (HTTP %d)", res.Error.Message, resp.StatusCode)
	}
	return fmt.Errorf("le serveur a répondu HTTP %d", resp.StatusCode)
}
