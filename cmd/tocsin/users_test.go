package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/web"
)

// The users command talks to a running replica with the administrator's
// token: it creates a user with a generated password printed once, and
// resets a password read from standard input, and a lost second factor.
func TestUsersCommandThroughTheRunningServer(t *testing.T) {
	a := mustRunServer(t)
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	runUsers := func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := users(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
		return out.String() + errOut.String(), err
	}

	out, err := runUsers("", "add", "marie", "--role", "officer", "--url", a.URL())
	if err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^    (\S+)$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "« marie » créé (rôle officer)") {
		t.Fatalf("users add printed %q; want the user and a generated password", out)
	}
	u, hash, err := a.Store().UserPassword(t.Context(), "marie")
	if err != nil || u.Role != "officer" || !web.CheckPassword(hash, m[1]) {
		t.Errorf("stored user %+v, %v; want an officer whose password is the one printed", u, err)
	}

	out, err = runUsers("un mot de passe choisi\n", "passwd", "marie", "--password-stdin", "--url", a.URL())
	if err != nil || strings.Contains(out, "un mot de passe choisi") {
		t.Fatalf("users passwd: %v; printed %q (the password must not be echoed)", err, out)
	}
	_, hash, _ = a.Store().UserPassword(t.Context(), "marie")
	if !web.CheckPassword(hash, "un mot de passe choisi") {
		t.Errorf("the password read from stdin was not set")
	}

	if err := a.Store().SetSecondFactor(t.Context(), "marie", tocsin.SecondFactor{Secret: "JBSWY3DPEHPK3PXP", Confirmed: true}); err != nil {
		t.Fatal(err)
	}
	out, err = runUsers("", "reset-2fa", "marie", "--url", a.URL())
	if err != nil || !strings.Contains(out, "Double authentification de « marie » réinitialisée") {
		t.Fatalf("users reset-2fa: %v; printed %q", err, out)
	}
	if f, err := a.Store().SecondFactor(t.Context(), "marie"); err != nil || f != (tocsin.SecondFactor{}) {
		t.Errorf("second factor after the reset: %+v, %v; want none", f, err)
	}

	// Every change is in the audit trail, by whom.
	entries, _, err := a.Audit().List(t.Context(), audit.Filter{}, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, e := range entries {
		if e.Action == tocsin.AuditConfig && e.Actor == "admin" {
			said = append(said, e.Detail)
		}
	}
	if strings.Join(said, " | ") != "utilisateur marie créé (officer) | mot de passe de marie changé | double authentification de marie réinitialisée" {
		t.Errorf("audit entries for user management: %q", said)
	}

	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"add", "marie", "--role", "officer", "--url", a.URL()}, "existe déjà"},
		{"", []string{"add", "paul", "--role", "chef", "--url", a.URL()}, "rôle inconnu"},
		{"court\n", []string{"passwd", "marie", "--password-stdin", "--url", a.URL()}, "trop court"},
		{"", []string{"passwd", "personne", "--url", a.URL()}, "inconnu"},
		{"", []string{"reset-2fa", "personne", "--url", a.URL()}, "inconnu"},
		{"", []string{"add", "paul", "--url", a.URL()}, "--role"},
		{"", []string{"add", "--role", "officer"}, "usage"},
	} {
		if _, err := runUsers(c.stdin, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("users %v: error %v; want one saying %q", c.args, err, c.want)
		}
	}
	var out2, errOut bytes.Buffer
	err = users(context.Background(), []string{"add", "paul", "--role", "auditor", "--url", a.URL()}, env(nil), strings.NewReader(""), &out2, &errOut)
	if err == nil || !strings.Contains(err.Error(), "TOCSIN_ADMIN_TOKEN") {
		t.Errorf("without a token: %v; want it to ask for one", err)
	}
	err = users(context.Background(), []string{"add", "paul", "--role", "auditor", "--url", a.URL(), "--token", "faux"}, env(nil), strings.NewReader(""), &out2, &errOut)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("with a wrong token: %v; want 401", err)
	}
}
