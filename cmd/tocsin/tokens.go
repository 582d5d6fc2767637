package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

const tokensUsage = `usage:
  tocsin tokens list [--url U] [--token T]
  tocsin tokens create NAME [--role auditor|officer|admin] [--days N] [--url U] [--token T]
  tocsin tokens revoke ID [--url U] [--token T]

Lists, creates and revokes your personal API tokens (those of the user the
token you give belongs to). A new token is printed once: keep it. --role
narrows it below your role (auditor: read only); --days sets its life (0:
no expiry).`

// tokensCmd manages the caller's personal API tokens on a running replica.
func tokensCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "create" && args[0] != "revoke") {
		return errors.New(tokensUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("tocsin tokens "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, tokensUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, role string
	var days int
	f.server(&base, &token)
	fs.StringVar(&role, "role", "", "narrower role of the new token: auditor, officer or admin")
	fs.IntVar(&days, "days", 90, "life of the new token in days; 0: no expiry")
	var name string
	if sub != "list" {
		var err error
		if name, err = parseNamed(f, args, tokensUsage); err != nil {
			return err
		}
	} else {
		if err := fs.Parse(args); err != nil {
			return err
		}
		f.applySecrets()
		if fs.NArg() > 0 {
			return errors.New(tokensUsage)
		}
	}
	token = apiToken(token, getenv)
	switch sub {
	case "create":
		data, _, err := apiDo(ctx, http.MethodPost, base, "/api/v1/tokens", token, map[string]any{"name": name, "role": role, "expires_in_days": days})
		if err != nil {
			return err
		}
		var created struct {
			tocsin.APIToken
			Token string `json:"token"`
		}
		if err := json.Unmarshal(data, &created); err != nil {
			return fmt.Errorf("réponse illisible : %w", err)
		}
		fmt.Fprintf(stdout, "Jeton « %s » (%s) créé. Il n'est affiché qu'une fois, gardez-le :\n\n    %s\n\n", created.Name, created.ID, created.Token)
		return nil
	case "revoke":
		if _, _, err := apiDo(ctx, http.MethodDelete, base, "/api/v1/tokens/"+url.PathEscape(name), token, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Jeton %s révoqué.\n", name)
		return nil
	}
	data, _, err := apiDo(ctx, http.MethodGet, base, "/api/v1/tokens", token, nil)
	if err != nil {
		return err
	}
	var list struct {
		Tokens []tocsin.APIToken `json:"tokens"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("réponse illisible : %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNOM\tRÔLE\tCRÉÉ\tÉCHÉANCE\tDERNIER USAGE")
	when := func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return tocsin.ParisTime(*t)
	}
	for _, t := range list.Tokens {
		r := string(t.Role)
		if r == "" {
			r = "(le vôtre)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, r, tocsin.ParisTime(t.CreatedAt), when(t.ExpiresAt), when(t.LastUsed))
	}
	return w.Flush()
}
