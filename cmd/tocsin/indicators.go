package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

const indicatorsUsage = `usage:
  tocsin indicators [--from 2026-01] [--to 2026-03] [--format table|csv|json|html] [--url U] [--token T]

Prints the module 7 indicators month by month (Paris calendar months),
real activations and exercises apart, from a running replica (--url,
default http://127.0.0.1:8080) with an API token (--token, TOCSIN_TOKEN).
--from and --to default to the current month.`

// indicators prints the module 7 indicators, read from a running replica.
func indicators(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin indicators", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, indicatorsUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, from, to, format string
	f.server(&base, &token)
	fs.StringVar(&from, "from", "", "first month, AAAA-MM")
	fs.StringVar(&to, "to", "", "last month, AAAA-MM")
	fs.StringVar(&format, "format", "table", "table, csv, json or html")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.applySecrets()
	if fs.NArg() > 0 {
		return errors.New(indicatorsUsage)
	}
	q := url.Values{}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	switch format {
	case "table":
		q.Set("format", "csv")
	case "csv", "json", "html":
		q.Set("format", format)
	default:
		return fmt.Errorf("format %q inconnu : table, csv, json ou html", format)
	}
	body, err := apiGet(ctx, base, "/api/v1/indicators?"+q.Encode(), apiToken(token, getenv))
	if err != nil {
		return err
	}
	if format != "table" {
		_, err := stdout.Write(body)
		return err
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		return fmt.Errorf("réponse illisible : %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// apiToken returns the token given, or one from the environment.
func apiToken(token string, getenv func(string) string) string {
	if token == "" {
		token = getenv("TOCSIN_ADMIN_TOKEN")
	}
	return token
}

// apiGet reads path from a running replica; an error answer becomes an
// error with the server's message.
func apiGet(ctx context.Context, base, path, token string) ([]byte, error) {
	body, _, err := apiDo(ctx, http.MethodGet, base, path, token, nil)
	return body, err
}

// apiDo sends a request to a running replica, with a JSON body when body
// is not nil, and returns the answer's body and headers; an error answer
// becomes an error with the server's message.
func apiDo(ctx context.Context, method, base, path, token string, body any) ([]byte, http.Header, error) {
	if token == "" {
		return nil, nil, errors.New("un jeton d'API est nécessaire : --token ou TOCSIN_TOKEN")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	target := strings.TrimSuffix(base, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("Tocsin injoignable à %s : %w", base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return nil, nil, fmt.Errorf("%s (HTTP %d)", e.Error.Message, resp.StatusCode)
		}
		return nil, nil, fmt.Errorf("le serveur a répondu HTTP %d", resp.StatusCode)
	}
	return data, resp.Header, nil
}
