package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// A register of two exercises held before Tocsin, with officials outside
// its directory.
const historyFile = `{"id":"reg-2025-1","kind":"exercise","title":"Exercice crue","activated_at":"2025-03-11T10:00:00+01:00","deadline":"2025-03-11T11:00:00+01:00","officials":[{"id":"76217-maire","name":"Claire Aubrelin","external":true,"informed_at":"2025-03-11T10:12:00+01:00","how":"sms"}],"source":"registre papier SIDPC 2025"}
{"id":"reg-2025-2","kind":"exercise","title":"Exercice tempête","activated_at":"2025-10-14T10:00:00+02:00","deadline":"2025-10-14T11:00:00+02:00","officials":[{"id":"76217-maire","name":"Claire Aubrelin","external":true}],"source":"registre papier SIDPC 2025"}
`

// history import posts a file and prints the counts, or every error and a
// non-zero exit; history export writes the same records back.
func TestHistoryImportAndExportCommandsThroughTheRunningServer(t *testing.T) {
	a := mustRunServer(t)
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	dir := t.TempDir()
	bad := filepath.Join(dir, "faux.jsonl")
	os.WriteFile(bad, []byte(strings.Replace(historyFile, `"how":"sms"`, `"how":"fax"`, 1)), 0o600)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"history", "import", bad, "--url", a.URL()}, getenv, &out, &errOut)
	if !errors.Is(err, errImportRefused) || !strings.Contains(out.String(), "1 erreurs, rien n'a été importé") ||
		!regexp.MustCompile(`ligne 1, colonne [0-9]+, champ officials\[0\]\.how : moyen "fax" inconnu`).MatchString(out.String()) {
		t.Fatalf("import of a bad file: %v, printed %q", err, out.String())
	}

	good := filepath.Join(dir, "registre.jsonl")
	os.WriteFile(good, []byte(historyFile), 0o600)
	for _, want := range []string{"2 activations importées, 0 déjà présentes", "0 activations importées, 2 déjà présentes"} {
		out.Reset()
		if err := run(context.Background(), []string{"history", "import", good, "--url", a.URL()}, getenv, &out, &errOut); err != nil {
			t.Fatalf("import: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("import printed %q; want %q", out.String(), want)
		}
	}

	exported := filepath.Join(dir, "export.jsonl")
	if err := run(context.Background(), []string{"history", "export", "--from", "2025-01", "--to", "2025-12", "-o", exported, "--url", a.URL()}, getenv, &out, &errOut); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut.String())
	}
	data, _ := os.ReadFile(exported)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"id":"reg-2025-1","kind":"exercise","title":"Exercice crue","activated_at":"2025-03-11T09:00:00Z"`) ||
		!strings.HasSuffix(lines[1], `"source":"registre papier SIDPC 2025"}`) {
		t.Errorf("export:\n%s", data)
	}
	out.Reset()
	if err := run(context.Background(), []string{"history", "export", "--from", "2025-04", "--to", "2025-10", "--url", a.URL()}, getenv, &out, &errOut); err != nil ||
		strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), "reg-2025-2") {
		t.Errorf("export of April to October: %v\n%s", err, out.String())
	}
	// An activation still open is named, not written, unless --open.
	if err := a.Store().ReplaceOfficials(context.Background(), []tocsin.Official{{ID: "maire-dieppe", Name: "Maire de Dieppe", Role: "maire",
		Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe", Numbers: []tocsin.Number{{E164: "+33639980001", Kind: tocsin.Mobile}}}}); err != nil {
		t.Fatal(err)
	}
	body, _, err := apiDo(context.Background(), http.MethodPost, a.URL(), "/api/v1/activations", "jeton-admin", map[string]any{"playbook": "t"})
	var act struct{ ID string }
	if err != nil || json.Unmarshal(body, &act) != nil || act.ID == "" {
		t.Fatalf("activation: %v %s", err, body)
	}
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"history", "export", "--url", a.URL()}, getenv, &out, &errOut); err != nil ||
		strings.Count(out.String(), "\n") != 2 || strings.Contains(out.String(), act.ID) ||
		!strings.Contains(errOut.String(), "1 activations en cours non exportées (--open pour les écrire sans date de clôture) : "+act.ID) {
		t.Errorf("export with an activation open: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"history", "export", "--open", "--url", a.URL()}, getenv, &out, &errOut); err != nil ||
		strings.Count(out.String(), "\n") != 3 || !strings.Contains(out.String(), act.ID) || errOut.Len() != 0 {
		t.Errorf("export --open: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if err := run(context.Background(), []string{"history", "export", "--from", "mars", "--url", a.URL()}, getenv, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "AAAA-MM") {
		t.Errorf("export from a bad month: %v", err)
	}
	if err := run(context.Background(), []string{"history", "import", filepath.Join(dir, "absent.jsonl"), "--url", a.URL()}, getenv, &out, &errOut); err == nil {
		t.Error("import of a missing file succeeded")
	}
}
