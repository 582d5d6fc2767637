package playbook

import (
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestRender(t *testing.T) {
	winter := time.Date(2026, time.January, 10, 13, 5, 0, 0, time.UTC) // 14h05 in Paris
	summer := time.Date(2026, time.July, 14, 21, 59, 0, 0, time.UTC)   // 23h59 in Paris
	newYear := time.Date(2026, time.December, 31, 23, 30, 0, 0, time.UTC)
	data := MessageData{
		Commune: "Dieppe", INSEE: "76217", Name: "Claire Aubrelin", Role: "maire-delegue",
		Title: "Crue de la Seine", Code: "K7P2", At: winter,
	}
	tests := []struct {
		name     string
		message  string
		exercise bool // the playbook's
		edit     func(*MessageData)
		want     string
	}{
		{"every field", "{{.Titre}} : {{.Commune}} ({{.INSEE}}), {{.Date}} {{.Heure}}, {{.Nom}}, {{.Fonction}}.", false, nil,
			"Crue de la Seine : Dieppe (76217), 10/01/2026 14h05, Claire Aubrelin, maire délégué. Répondez OK (ou K7P2) pour accuser réception."},
		{"summer time", "{{.Date}} {{.Heure}}", false, func(d *MessageData) { d.At = summer },
			"14/07/2026 23h59 Répondez OK (ou K7P2) pour accuser réception."},
		{"date in Paris", "{{.Date}} {{.Heure}}", false, func(d *MessageData) { d.At = newYear },
			"01/01/2027 00h30 Répondez OK (ou K7P2) pour accuser réception."},
		{"the template gives the code", "Répondez {{.Code}} à ce message.", false, nil,
			"Répondez K7P2 à ce message."},
		{"no code", "Alerte.", false, func(d *MessageData) { d.Code = "" },
			"Alerte. Répondez OK pour accuser réception."},
		{"note", "Alerte.{{if .Note}} {{.Note}}{{end}}", false, func(d *MessageData) { d.Note = "RDV en mairie." },
			"Alerte. RDV en mairie. Répondez OK (ou K7P2) pour accuser réception."},
		{"no note", "Alerte.{{if .Note}} {{.Note}}{{end}}", false, nil,
			"Alerte. Répondez OK (ou K7P2) pour accuser réception."},
		{"role test", `{{if eq .Fonction "maire délégué"}}MD{{else}}autre{{end}}`, false, nil,
			"MD Répondez OK (ou K7P2) pour accuser réception."},
		{"unknown role printed as is", "{{.Fonction}}", false, func(d *MessageData) { d.Role = "préfet" },
			"préfet Répondez OK (ou K7P2) pour accuser réception."},
		{"trimmed", "\n  Alerte.\n\n", false, nil,
			"Alerte. Répondez OK (ou K7P2) pour accuser réception."},
		{"exercise activation", "Crue.", false, func(d *MessageData) { d.Exercise = true },
			"EXERCICE - Crue. Répondez OK (ou K7P2) pour accuser réception."},
		{"exercise playbook", "Vérification.", true, nil,
			"EXERCICE - Vérification. Répondez OK (ou K7P2) pour accuser réception."},
		{"exercise not doubled", "Exercice : vérification.", true, nil,
			"EXERCICE - vérification. Répondez OK (ou K7P2) pour accuser réception."},
		{"exercise mark in capitals", "EXERCICE vérification.", true, nil,
			"EXERCICE - vérification. Répondez OK (ou K7P2) pour accuser réception."},
		{"exercise as a word", "{{.Titre}}.", true, func(d *MessageData) { d.Title = "Exercice trimestriel" },
			"EXERCICE - Exercice trimestriel. Répondez OK (ou K7P2) pour accuser réception."},
		{"for a deputy", "Crue à {{.Commune}}.", false, func(d *MessageData) { d.ForDeputy, d.Role = true, "maire" },
			"Faute d'avoir pu joindre Claire Aubrelin, maire de Dieppe, ce message vous est adressé en tant que suppléant(e). Crue à Dieppe. Répondez OK (ou K7P2) pour accuser réception au nom de la commune."},
		{"for a deputy, exercise", "Exercice : crue.", false, func(d *MessageData) { d.ForDeputy, d.Exercise, d.Role = true, true, "maire" },
			"EXERCICE - Faute d'avoir pu joindre Claire Aubrelin, maire de Dieppe, ce message vous est adressé en tant que suppléant(e). crue. Répondez OK (ou K7P2) pour accuser réception au nom de la commune."},
		{"for a deputy, spoken", "Crue.", false, func(d *MessageData) { d.ForDeputy, d.Spoken, d.Role = true, true, "maire" },
			"Faute d'avoir pu joindre Claire Aubrelin, maire de Dieppe, ce message vous est adressé en tant que suppléant(e). Crue."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := tocsin.Playbook{Message: tt.message, Exercise: tt.exercise}
			d := data
			if tt.edit != nil {
				tt.edit(&d)
			}
			got, err := Render(&pb, d)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("Render =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	pb := tocsin.Playbook{Message: "{{.Nom}}", File: "essai.yaml"}
	if _, err := Render(&pb, MessageData{}); err == nil {
		t.Error("Render without a time: no error")
	}
	bad := tocsin.Playbook{Message: "{{.Comune}}", File: "essai.yaml"}
	_, err := Render(&bad, MessageData{At: time.Now()})
	if tocsin.ErrorField(err) != "essai.yaml" || !strings.Contains(tocsin.ErrorMessage(err), "champ inconnu") {
		t.Errorf("Render(bad template) = %v, want an error on essai.yaml", err)
	}
	huge := tocsin.Playbook{Message: strings.Repeat("{{.Note}}", 100)}
	if _, err := Render(&huge, MessageData{At: time.Now(), Note: strings.Repeat("x", 1000)}); err == nil {
		t.Error("Render of a 100 kB message: no error")
	}
}

func TestCompileOnceRenderMany(t *testing.T) {
	pb := tocsin.Playbook{Message: "{{.Nom}} à {{.Commune}}."}
	tmpl, err := Compile(&pb)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"A", "B"} {
		got, err := tmpl.Render(MessageData{Name: name, Commune: "Eu", At: time.Now()})
		if want := name + " à Eu. Répondez OK pour accuser réception."; err != nil || got != want {
			t.Errorf("Render = %q, %v; want %q", got, err, want)
		}
	}
}
