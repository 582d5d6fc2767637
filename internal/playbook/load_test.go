package playbook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// testReference knows four communes and the three arrondissements.
var testReference = Reference{
	Commune: func(insee string) bool {
		switch insee {
		case "76217", "76540", "76351", "76493":
			return true
		}
		return false
	},
	Arrondissements: []string{"Dieppe", "Le Havre", "Rouen"},
	// Near knows one commune, at Paluel.
	Near: func(lat, lon, km float64) bool {
		return tocsin.DistanceKm(lat, lon, 49.84, 0.63) <= km
	},
}

const minimal = `id: essai
title: Essai
audience:
  communes: ["76217"]
message: "Bonjour {{.Nom}}."
`

func TestParseFull(t *testing.T) {
	src := `# un scénario complet
id: crue
title: "  Crue de la Seine  "
exercise: false
deadline: 45m
audience:
  everyone: false
  arrondissements: [rouen, Le Havre]
  communes: [76217, "76540"]
  roles: [maire, adjoint]
  within: {label: CNPE de Paluel, lat: 49.858, lon: 0.635, km: 20}
message: |
  {{.Titre}} à {{.Commune}} ({{.INSEE}}), {{.Date}} {{.Heure}}.
  {{.Nom}}, {{.Fonction}}.{{if .Note}} {{.Note}}{{end}}
ladder:
  - after: 0
    channel: sms
    targets: [mobile]
    retries: 2
    retry_after: 8m
  - {after: 10m, channel: voice, targets: [mobile, landline]}
  - {after: 10m, channel: sms, targets: [deputies]}
  - {after: 1h30m, channel: voice, targets: [landline, deputies], retries: 0}
cip: {min_operators: 3, announced_delay: 45m}
`
	pb, err := Parse("crue.yaml", []byte(src), testReference)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := tocsin.Playbook{
		ID:       "crue",
		Title:    "Crue de la Seine",
		Deadline: 45 * time.Minute,
		Audience: tocsin.Audience{
			Arrondissements: []string{"Rouen", "Le Havre"},
			Communes:        []string{"76217", "76540"},
			Roles:           []string{"maire", "adjoint"},
			Within:          &tocsin.Circle{Label: "CNPE de Paluel", Lat: 49.858, Lon: 0.635, Km: 20},
		},
		Message: "{{.Titre}} à {{.Commune}} ({{.INSEE}}), {{.Date}} {{.Heure}}.\n{{.Nom}}, {{.Fonction}}.{{if .Note}} {{.Note}}{{end}}\n",
		Ladder: []tocsin.Rung{
			{After: 0, Channel: tocsin.SMS, Targets: []tocsin.Target{tocsin.TargetMobile}, Retries: 2, RetryAfter: 8 * time.Minute},
			{After: 10 * time.Minute, Channel: tocsin.Voice, Targets: []tocsin.Target{tocsin.TargetMobile, tocsin.TargetLandline}},
			{After: 10 * time.Minute, Channel: tocsin.SMS, Targets: []tocsin.Target{tocsin.TargetDeputies}},
			{After: 90 * time.Minute, Channel: tocsin.Voice, Targets: []tocsin.Target{tocsin.TargetLandline, tocsin.TargetDeputies}},
		},
		CIP:  &tocsin.PlaybookCIP{MinOperators: 3, AnnouncedDelay: 45 * time.Minute},
		File: "crue.yaml",
	}
	if !reflect.DeepEqual(pb, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", pb, want)
	}
}

func TestParseDefaults(t *testing.T) {
	pb, err := Parse("essai.yaml", []byte(minimal), testReference)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if pb.Deadline != tocsin.DefaultDeadline || !reflect.DeepEqual(pb.Ladder, tocsin.DefaultLadder) || pb.Exercise {
		t.Errorf("defaults: deadline %v, ladder %+v, exercise %v", pb.Deadline, pb.Ladder, pb.Exercise)
	}
	pb.Ladder[0].Retries = 3
	if tocsin.DefaultLadder[0].Retries != 0 {
		t.Error("the playbook's ladder shares tocsin.DefaultLadder")
	}
	// Without a reference, only the shape of a code is checked.
	if _, err := Parse("essai.yaml", []byte(strings.Replace(minimal, "76217", "76999", 1)), Reference{}); err != nil {
		t.Errorf("Parse without reference: %v", err)
	}
}

// parseErrors runs Parse, which must fail, and returns its errors.
func parseErrors(t *testing.T, file, src string) []*tocsin.Error {
	t.Helper()
	pb, err := Parse(file, []byte(src), testReference)
	var list *tocsin.ListError
	if !errors.As(err, &list) {
		t.Fatalf("Parse error = %v (%T), want a *tocsin.ListError; playbook %+v", err, err, pb)
	}
	if pb.ID != "" || pb.File != "" {
		t.Errorf("Parse returned a playbook with its error: %+v", pb)
	}
	return list.Errs
}

func describe(errs []*tocsin.Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %q: %q", e.Field, e.Message)
	}
	return b.String()
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src   string
		field, want string
	}{
		{"YAML syntax", "id: essai\ntitle: Essai\naudience: [Rouen\nmessage: x\n", "crue.yaml:3", "syntaxe YAML invalide"},
		{"YAML indentation", "id: essai\ntitle: Essai\n  audience: x\n", "crue.yaml:3", "syntaxe YAML invalide"},
		{"tab indentation", "id: essai\naudience:\n\teveryone: true\n", "crue.yaml:3", "syntaxe YAML invalide"},
		{"empty file", "", "crue.yaml:1", "fichier vide"},
		{"comments only", "# rien\n", "crue.yaml:1", "fichier vide"},
		{"not a mapping", "- id: essai\n", "crue.yaml:1", "suite de clés"},
		{"two documents", minimal + "---\nid: autre\n", "crue.yaml:6", "un seul document YAML"},
		{"unknown key", minimal + "audiance:\n  everyone: true\n", "crue.yaml:6", "clé inconnue « audiance » dans le scénario"},
		{"unknown key suggestion", minimal + "ladderr: []\n", "crue.yaml:6", "vouliez-vous dire « ladder » ?"},
		{"unknown key in audience", "id: essai\ntitle: Essai\naudience:\n  communes: [\"76217\"]\n  role: [maire]\nmessage: x\n", "crue.yaml:5", "clé inconnue « role » dans audience"},
		{"unknown key in rung", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobile], retry: 1}\n", "crue.yaml:7", "clé inconnue « retry » dans l'échelon"},
		{"duplicate key", minimal + "title: Autre\n", "crue.yaml:6", "clé « title » en double (déjà ligne 2)"},
		{"alias", "id: essai\ntitle: &t Essai\naudience: {communes: [\"76217\"]}\nmessage: *t\n", "crue.yaml:4", "alias"},
		{"missing key", "id: essai\ntitle: Essai\naudience: {everyone: true}\n", "crue.yaml:1", "clé « message » manquante"},
		{"bad id", strings.Replace(minimal, "id: essai", "id: Crue Seine", 1), "crue.yaml:1", "identifiant invalide « Crue Seine »"},
		{"empty title", strings.Replace(minimal, "title: Essai", "title: \"\"", 1), "crue.yaml:2", "titre vide"},
		{"title not text", strings.Replace(minimal, "title: Essai", "title: [a, b]", 1), "crue.yaml:2", "« title » attend un texte"},
		{"cip not a mapping", minimal + "cip: 3\n", "crue.yaml:6", "« cip » décrit la cellule"},
		{"unknown key in cip", minimal + "cip: {min_operator: 3}\n", "crue.yaml:6", "clé inconnue « min_operator » dans cip"},
		{"no operator in position", minimal + "cip: {min_operators: 0}\n", "crue.yaml:6", "« min_operators » hors limites"},
		{"cip delay without unit", minimal + "cip: {announced_delay: 60}\n", "crue.yaml:6", "durée « announced_delay » invalide"},
		{"bad exercise", minimal + "exercise: oui\n", "crue.yaml:6", "« exercise » vaut true ou false"},
		{"bad duration", minimal + "deadline: 1 heure\n", "crue.yaml:6", "durée « deadline » invalide « 1 heure »"},
		{"duration without unit", minimal + "deadline: 60\n", "crue.yaml:6", "durée « deadline » invalide « 60 »"},
		{"zero deadline", minimal + "deadline: 0\n", "crue.yaml:6", "hors limites"},
		{"deadline too long", minimal + "deadline: 25h\n", "crue.yaml:6", "hors limites"},
		{"audience not a mapping", strings.Replace(minimal, "audience:\n  communes: [\"76217\"]", "audience: Rouen", 1), "crue.yaml:3", "« audience » décrit qui informer"},
		{"empty audience", strings.Replace(minimal, "  communes: [\"76217\"]", "  everyone: false", 1), "crue.yaml:3", "audience vide"},
		{"everyone and places", strings.Replace(minimal, "  communes:", "  everyone: true\n  communes:", 1), "crue.yaml:3", "« everyone: true » sélectionne déjà tout"},
		{"unknown commune", strings.Replace(minimal, "76217", "76999", 1), "crue.yaml:4", "commune inconnue « 76999 »"},
		{"commune not a code", strings.Replace(minimal, "\"76217\"", "Dieppe", 1), "crue.yaml:4", "commune inconnue « Dieppe »"},
		{"communes not a list", strings.Replace(minimal, "[\"76217\"]", "\"76217\"", 1), "crue.yaml:4", "« communes » est une liste"},
		{"duplicate commune", strings.Replace(minimal, "[\"76217\"]", "[\"76217\", 76217]", 1), "crue.yaml:4", "citée deux fois"},
		{"unknown arrondissement", strings.Replace(minimal, "communes: [\"76217\"]", "arrondissements: [Rouen, Yvetot]", 1), "crue.yaml:4", "arrondissement inconnu « Yvetot » ; arrondissements : Dieppe, Le Havre, Rouen"},
		{"unknown role", strings.Replace(minimal, "communes: [\"76217\"]", "communes: [\"76217\"]\n  roles:\n    - maire\n    - Maire", 1), "crue.yaml:7", "rôle inconnu « Maire »"},
		{"circle without km", strings.Replace(minimal, "communes: [\"76217\"]", "within: {lat: 49.8, lon: 0.6}", 1), "crue.yaml:4", "clé « km » manquante dans within"},
		{"circle bad latitude", strings.Replace(minimal, "communes: [\"76217\"]", "within:\n    lat: 149.8\n    lon: 0.6\n    km: 5", 1), "crue.yaml:5", "latitude hors limites"},
		{"circle comma decimal", strings.Replace(minimal, "communes: [\"76217\"]", "within: {lat: \"49,8\", lon: 0.6, km: 5}", 1), "crue.yaml:4", "« lat » attend un nombre"},
		{"circle in the sea", strings.Replace(minimal, "communes: [\"76217\"]", "within: {lat: 50.5, lon: 0.6, km: 10}", 1), "crue.yaml:4", "cercle vide : aucune commune à moins de 10 km"},
		{"circle swapped", strings.Replace(minimal, "communes: [\"76217\"]", "within:\n    lat: 0.635\n    lon: 49.858\n    km: 20", 1), "crue.yaml:5", "latitude et longitude sont-elles inversées ?"},
		{"circle radius", strings.Replace(minimal, "communes: [\"76217\"]", "within: {lat: 49.8, lon: 0.6, km: 0}", 1), "crue.yaml:4", "rayon « km » hors limites"},
		{"empty message", strings.Replace(minimal, "\"Bonjour {{.Nom}}.\"", "\"  \"", 1), "crue.yaml:5", "message vide"},
		{"bad template field", "id: essai\ntitle: Essai\naudience: {communes: [\"76217\"]}\nmessage: |\n  Alerte à {{.Commune}}.\n  Bonjour {{.Comune}}.\n", "crue.yaml:6", "champ inconnu « {{.Comune}} » ; champs possibles : {{.Commune}}"},
		{"bad template field in a folded message", "id: essai\ntitle: Essai\naudience: {communes: [\"76217\"]}\nmessage: >-\n  Alerte à {{.Commune}}.\n  {{if .Note}}\n  {{.Notes}}{{end}}\n", "crue.yaml:7", "champ inconnu « {{.Notes}} »"},
		{"bad template syntax", "id: essai\ntitle: Essai\naudience: {communes: [\"76217\"]}\nmessage: |\n  Alerte.\n  {{if .Note}} {{.Note}}\n", "crue.yaml:6", "modèle de message invalide : {{if}} sans {{end}}"},
		{"unclosed action", "id: essai\ntitle: Essai\naudience: {communes: [\"76217\"]}\nmessage: \"Alerte {{.Nom\"\n", "crue.yaml:4", "modèle de message invalide"},
		{"template function", strings.Replace(minimal, "{{.Nom}}", "{{printf \\\"%099999999d\\\" 1}}", 1), "crue.yaml:5", "fonction « printf » non prise en charge"},
		{"template range", strings.Replace(minimal, "{{.Nom}}", "{{range 1000000000}}{{end}}", 1), "crue.yaml:5", "{{range}} n'est pas pris en charge"},
		{"template define", strings.Replace(minimal, "{{.Nom}}", "{{define \\\"x\\\"}}y{{end}}", 1), "crue.yaml:5", "{{define}}"},
		{"template dot", strings.Replace(minimal, "{{.Nom}}", "{{.}}", 1), "crue.yaml:5", "{{.}} n'est pas pris en charge"},
		{"template variable", strings.Replace(minimal, "{{.Nom}}", "{{$x := .Nom}}{{$x}}", 1), "crue.yaml:5", "variables"},
		{"template nested field", strings.Replace(minimal, "{{.Nom}}", "{{.Nom.Court}}", 1), "crue.yaml:5", "champ inconnu « {{.Nom.Court}} »"},
		{"template runtime error", strings.Replace(minimal, "{{.Nom}}", "{{if eq .Nom 1}}x{{end}}", 1), "crue.yaml:5", "modèle de message invalide"},
		{"real playbook speaks of an exercise", strings.Replace(minimal, "Bonjour", "EXERCICE Bonjour", 1), "crue.yaml:5", "un scénario réel ne parle pas d'exercice"},
		{"message too long", strings.Replace(minimal, "Bonjour", strings.Repeat("Bonjour ", 80), 1), "crue.yaml:5", "message trop long"},
		{"ladder not a list", minimal + "ladder: {after: 0}\n", "crue.yaml:6", "« ladder » est une liste"},
		{"empty ladder", minimal + "ladder: []\n", "crue.yaml:6", "« ladder » vide"},
		{"first rung later", minimal + "ladder:\n  - {after: 5m, channel: sms, targets: [mobile]}\n", "crue.yaml:7", "le premier échelon part à l'activation"},
		{"rungs out of order", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobile]}\n  - {after: 20m, channel: voice, targets: [mobile]}\n  - {after: 10m, channel: voice, targets: [landline]}\n", "crue.yaml:9", "échelons dans le désordre : celui-ci (after 10m) vient avant le précédent (after 20m)"},
		{"bad channel", minimal + "ladder:\n  - {after: 0, channel: fax, targets: [mobile]}\n", "crue.yaml:7", "canal inconnu « fax »"},
		{"bad target", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobiles]}\n", "crue.yaml:7", "cible inconnue « mobiles »"},
		{"empty targets", minimal + "ladder:\n  - {after: 0, channel: sms, targets: []}\n", "crue.yaml:7", "« targets » vide"},
		{"SMS to landlines", minimal + "ladder:\n  - after: 0\n    channel: sms\n    targets: [landline]\n", "crue.yaml:9", "un SMS ne peut pas joindre une ligne fixe"},
		{"rung without channel", minimal + "ladder:\n  - {after: 0, targets: [mobile]}\n", "crue.yaml:7", "clé « channel » manquante dans l'échelon"},
		{"negative after", minimal + "ladder:\n  - {after: -5m, channel: sms, targets: [mobile]}\n", "crue.yaml:7", "« after » hors limites"},
		{"too many retries", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobile], retries: 9}\n", "crue.yaml:7", "« retries » hors limites"},
		{"retry too soon", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobile], retries: 1, retry_after: 1s}\n", "crue.yaml:7", "« retry_after » hors limites : entre 5s et 1h"},
		{"retry on a manual rung", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobile]}\n  - {after: 30m, channel: manual, retry_after: 5m}\n", "crue.yaml:8", "un échelon « manual » (liste « à appeler ») n'envoie rien : retirez « retry_after »"},
		{"retries not a number", minimal + "ladder:\n  - {after: 0, channel: sms, targets: [mobile], retries: deux}\n", "crue.yaml:7", "« retries » attend un nombre entier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, "crue.yaml", tt.src)
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Message, tt.want) {
					return
				}
			}
			t.Errorf("errors %v\nwant one at %q containing %q", describe(errs), tt.field, tt.want)
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	src := `id: Essai
title: Essai
deadline: 2 heures
audience:
  communes: ["76999"]
  roles: [maires]
message: "{{.Comune}}"
ladder:
  - {after: 0, channel: sms, targets: [landline]}
`
	errs := parseErrors(t, "crue.yaml", src)
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	want := []string{"crue.yaml:1", "crue.yaml:3", "crue.yaml:5", "crue.yaml:6", "crue.yaml:7", "crue.yaml:9"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("error places %q, want %q%s", got, want, describe(errs))
	}
	if tocsin.ErrorCode(&tocsin.ListError{Errs: errs}) != tocsin.EInvalid {
		t.Error("errors do not carry EInvalid")
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"b.yml":            strings.Replace(minimal, "id: essai", "id: bravo", 1),
		"a.yaml":           strings.Replace(minimal, "id: essai", "id: alpha", 1),
		"notes.txt":        "not a playbook",
		".#a.yaml":         "editor lock file",
		"old/c.yaml":       "broken: [",
		"README.md":        "# playbooks",
		"UPPER.YAML":       strings.Replace(minimal, "id: essai", "id: charlie", 1),
		"empty-dir.yaml/x": "",
	})
	pbs, err := LoadDir(dir, testReference)
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	var got []string
	for _, pb := range pbs {
		got = append(got, pb.ID+"@"+pb.File)
	}
	want := []string{"charlie@UPPER.YAML", "alpha@a.yaml", "bravo@b.yml"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadDir = %q, want %q", got, want)
	}
}

func TestLoadDirOneBadFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml":    strings.Replace(minimal, "id: essai", "id: alpha", 1),
		"crue.yaml": minimal + "deadline: 1 heure\n",
		"z.yaml":    strings.Replace(minimal, "id: essai", "id: zulu", 1),
	})
	pbs, err := LoadDir(dir, testReference)
	if pbs != nil {
		t.Errorf("LoadDir returned %d playbooks with an error", len(pbs))
	}
	if tocsin.ErrorField(err) != "crue.yaml:6" {
		t.Errorf("LoadDir error %v, want it at crue.yaml:6", err)
	}
}

func TestLoadDirDuplicateID(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"paluel.yaml": "# Paluel\n" + minimal,
		"penly.yaml":  minimal,
		"other.yaml":  strings.Replace(minimal, "{{.Nom}}", "{{.Nm}}", 1),
	})
	_, err := LoadDir(dir, testReference)
	var list *tocsin.ListError
	if !errors.As(err, &list) || len(list.Errs) != 2 {
		t.Fatalf("LoadDir error %v, want two errors", err)
	}
	if e := list.Errs[0]; e.Field != "other.yaml:5" {
		t.Errorf("first error %q: %q, want the template error of other.yaml", e.Field, e.Message)
	}
	if e := list.Errs[1]; e.Field != "penly.yaml:1" || !strings.Contains(e.Message, "identifiant « essai » déjà utilisé par paluel.yaml:2") {
		t.Errorf("duplicate id error %q: %q, want it at penly.yaml:1 naming paluel.yaml:2", e.Field, e.Message)
	}
}

func TestLoadDirMissing(t *testing.T) {
	_, err := LoadDir(filepath.Join(t.TempDir(), "nope"), testReference)
	if err == nil || tocsin.ErrorCode(err) != tocsin.EInternal {
		t.Errorf("LoadDir(missing dir) = %v, want a plain error", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, name := range []string{"crue-inondation.yaml", "alerte-nucleaire-paluel.yaml", "exercice-trimestriel.yaml"} {
		if data, err := os.ReadFile(filepath.Join("../../playbooks", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("message: \"{{if .Note}}{{else if .Code}}{{.Code}}{{end}}\"\nladder: [{after: 0}, 3, [x]]\n"))
	f.Add([]byte("audience: {within: {lat: .nan, lon: .inf, km: 1e400}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pb, err := Parse("fuzz.yaml", data, testReference)
		if err != nil {
			var list *tocsin.ListError
			if !errors.As(err, &list) || len(list.Errs) == 0 {
				t.Fatalf("error %v (%T), want a *tocsin.ListError", err, err)
			}
			for _, e := range list.Errs {
				if !strings.HasPrefix(e.Field, "fuzz.yaml:") {
					t.Fatalf("error without file:line: %+v", e)
				}
			}
			return
		}
		if !tocsin.ValidID(pb.ID) || pb.Audience.Empty() || len(pb.Ladder) == 0 || pb.Deadline <= 0 {
			t.Fatalf("invalid playbook accepted: %+v", pb)
		}
		if _, err := Render(&pb, MessageData{At: time.Now(), Note: strings.Repeat("n", 500)}); err != nil {
			t.Fatalf("accepted playbook does not render: %v", err)
		}
	})
}
