package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The RETEX command through a running replica: a bad file is refused with
// its name and nothing is recorded; an open exercise is refused; once it
// is closed the RETEX is recorded, printed, and the calendar command shows
// the run with its RETEX next to a missed one.
func TestRetexAndExercisesCommandsThroughTheRunningServer(t *testing.T) {
	a := mustRunServer(t)
	ctx := context.Background()
	if err := a.Store().ReplaceOfficials(ctx, []tocsin.Official{{ID: "maire-dieppe", Name: "Maire de Dieppe", Role: "maire",
		Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
		Numbers: []tocsin.Number{{E164: "+33639980001", Kind: tocsin.Mobile}}}}); err != nil {
		t.Fatal(err)
	}
	body, _, err := apiDo(ctx, http.MethodPost, a.URL(), "/api/v1/activations", "jeton-admin", map[string]any{"playbook": "t", "exercise": true})
	if err != nil {
		t.Fatal(err)
	}
	var act tocsin.Activation
	if err := json.Unmarshal(body, &act); err != nil || act.ID == "" {
		t.Fatalf("create: %s, %v", body, err)
	}
	getenv := env(map[string]string{"TOCSIN_TOKEN": "jeton-admin"})
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append(args, "--url", a.URL()), getenv, &out, &errOut)
		return out.String(), err
	}
	dir := t.TempDir()
	empty, text := filepath.Join(dir, "vide.txt"), filepath.Join(dir, "retex.txt")
	os.WriteFile(empty, []byte("  \n"), 0o600)
	os.WriteFile(text, []byte("Les maires ont répondu en 12 minutes.\nÀ revoir : les numéros fixes.\n"), 0o600)

	if _, err := cli("retex", act.ID, "--file", empty); err == nil || !strings.Contains(err.Error(), "vide.txt : le RETEX est vide") {
		t.Errorf("an empty file: %v", err)
	}
	if _, err := cli("retex", act.ID, "--file", text); err == nil || !strings.Contains(err.Error(), "close l'exercice") {
		t.Errorf("RETEX of an open exercise: %v", err)
	}
	if _, err := cli("retex", act.ID); err == nil || !strings.Contains(err.Error(), "aucun RETEX") {
		t.Errorf("printing a RETEX never entered: %v", err)
	}
	if _, _, err := apiDo(ctx, http.MethodPost, a.URL(), "/api/v1/activations/"+act.ID+"/close", "jeton-admin", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("retex", act.ID, "--file", text); err != nil || !strings.Contains(out, "enregistré") {
		t.Fatalf("record the RETEX: %v, %q", err, out)
	}
	out, err := cli("retex", act.ID)
	if err != nil || !strings.Contains(out, "saisi par admin") || !strings.Contains(out, "À revoir : les numéros fixes.") {
		t.Errorf("print the RETEX: %v\n%s", err, out)
	}
	if _, err := cli("retex", "inconnue"); err == nil || !strings.Contains(err.Error(), "introuvable") {
		t.Errorf("an unknown activation: %v", err)
	}

	jan := time.Date(2026, 1, 10, 10, 0, 0, 0, tocsin.Paris()).UTC()
	apr := time.Date(2026, 4, 10, 10, 0, 0, 0, tocsin.Paris()).UTC()
	for _, run := range []tocsin.ExerciseRun{{Due: jan, Status: tocsin.RunLaunched, Activation: act.ID}, {Due: apr, Status: tocsin.RunMissed}} {
		if _, err := a.Store().ClaimExerciseRun(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	out, err = cli("exercises")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Prochains exercices", "Exercices programmés passés",
		"10/04/2026 à 10:00  2026-04-10T08:00:00Z  manqué", "10/01/2026 à 10:00  2026-01-10T09:00:00Z  lancé", act.ID + "  saisi"} {
		if !strings.Contains(out, want) {
			t.Errorf("exercises lacks %q:\n%s", want, out)
		}
	}
	out, err = cli("exercises", "--format", "json")
	var cal exerciseCalendar
	if err != nil || json.Unmarshal([]byte(out), &cal) != nil || len(cal.Next) == 0 || len(cal.Past) != 2 ||
		!cal.Past[0].Missed || cal.Past[1].Missed || !cal.Past[1].Retex || cal.Past[1].DueParis != "10/01/2026 à 10:00" {
		t.Errorf("exercises as JSON: %v\n%s", err, out)
	}
}

// The audit export follows the pages: with two entries a page, every
// entry comes once, in order, in one document.
func TestAuditExportFollowsPages(t *testing.T) {
	a := mustRunServer(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := a.Audit().Append(ctx, "agent", "test", "", fmt.Sprintf("entrée %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	getenv := env(map[string]string{"TOCSIN_TOKEN": "jeton-admin"})
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"audit", "export", "--format", "json", "--limit", "2", "--url", a.URL()}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Entries []tocsin.AuditEntry `json:"entries"`
		Count   int                 `json:"count"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("export is not one JSON document: %v\n%s", err, out.String())
	}
	// The export itself is recorded after its first page, and read with the last.
	all, _, _ := a.Audit().List(ctx, audit.Filter{}, 0, 100)
	if doc.Count != len(all) || len(doc.Entries) != len(all) || len(all) != 6 {
		t.Fatalf("exported %d entries (count %d), the trail holds %d", len(doc.Entries), doc.Count, len(all))
	}
	for i, e := range doc.Entries {
		if e.Seq != uint64(i+1) || e.Hash != all[i].Hash {
			t.Errorf("exported entry %d is n° %d", i+1, e.Seq)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "export", "--limit", "2", "--url", a.URL()}, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 8 || strings.Count(out.String(), "n°,horodatage") != 1 {
		t.Errorf("CSV export: %d lines, want the header once and 7 entries:\n%s", n, out.String())
	}
	if err := run(ctx, []string{"audit", "export", "--limit", "0", "--url", a.URL()}, getenv, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "limit") {
		t.Errorf("a limit of 0: %v", err)
	}
}
