package playbook

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/directory"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// directoryReference is what the wiring passes to LoadDir.
func directoryReference() Reference {
	return Reference{
		Commune: func(insee string) bool {
			_, ok := directory.CommuneByINSEE(insee)
			return ok
		},
		Arrondissements: directory.Arrondissements(),
		Near: func(lat, lon, km float64) bool {
			return len(directory.CommunesWithin(lat, lon, km)) > 0
		},
	}
}

func loadShipped(t *testing.T) map[string]tocsin.Playbook {
	t.Helper()
	pbs, err := LoadDir("../../playbooks", directoryReference())
	if err != nil {
		t.Fatalf("LoadDir(playbooks): %v", err)
	}
	byID := map[string]tocsin.Playbook{}
	for _, pb := range pbs {
		byID[pb.ID] = pb
	}
	return byID
}

// selected returns the ids of the demo officials pb's audience selects.
func selected(pb tocsin.Playbook) map[string]tocsin.Official {
	out := map[string]tocsin.Official{}
	for _, o := range directory.Demo() {
		if pb.Audience.Match(&o) {
			out[o.ID] = o
		}
	}
	return out
}

func TestShippedPlaybooks(t *testing.T) {
	pbs := loadShipped(t)
	want := []string{"accident-industriel-seveso", "alerte-nucleaire-paluel", "alerte-nucleaire-penly", "crue-inondation", "exercice-trimestriel", "tempete"}
	var got []string
	for id := range pbs {
		got = append(got, id)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("shipped playbooks %q, want %q", got, want)
	}
	demo := directory.Demo()
	for id, pb := range pbs {
		sel := selected(pb)
		if len(sel) == 0 {
			t.Errorf("%s: audience selects nobody in the demo directory", id)
		}
		if pb.Deadline != time.Hour || pb.File != id+".yaml" || pb.Title == "" {
			t.Errorf("%s: deadline %v, file %q, title %q", id, pb.Deadline, pb.File, pb.Title)
		}
		if len(pb.Ladder) < 2 || pb.Ladder[0].Channel != tocsin.SMS || pb.Ladder[0].After != 0 {
			t.Errorf("%s: ladder %+v, want an SMS at 0 then more rungs", id, pb.Ladder)
		}
		if pb.Exercise != (id == "exercice-trimestriel") {
			t.Errorf("%s: exercise = %v", id, pb.Exercise)
		}
		t.Logf("%s: %d of %d demo officials", id, len(sel), len(demo))
	}

	for _, tt := range []struct {
		id       string
		min, max int      // mayors selected: plausible bounds
		in       []string // communes that must be in
		out      []string // communes that must not be
	}{
		// The PPI counts 104 communes for Paluel and 106 for Penly (4 of
		// them in the Somme); the circle on the communes' points is close.
		{"alerte-nucleaire-paluel", 70, 130, []string{"76493", "76259", "76564"}, []string{"76217", "76540", "76351"}},
		{"alerte-nucleaire-penly", 70, 130, []string{"76618", "76217"}, []string{"76493", "76540"}},
		{"accident-industriel-seveso", 25, 60, []string{"76498", "76322", "76540", "76575"}, []string{"76231", "76222"}},
		{"crue-inondation", 60, 60, []string{"76540", "76351", "76231", "76378"}, []string{"76217", "76758"}},
		{"exercice-trimestriel", 200, 400, []string{"76217", "76493"}, []string{"76540", "76351"}},
		{"tempete", 707, 707, []string{"76217", "76540", "76351"}, nil},
	} {
		sel := selected(pbs[tt.id])
		var mayors int
		for _, o := range sel {
			if o.Role == "maire" {
				mayors++
			}
		}
		if mayors < tt.min || mayors > tt.max {
			t.Errorf("%s selects %d mayors, want %d to %d", tt.id, mayors, tt.min, tt.max)
		}
		for _, c := range tt.in {
			if _, ok := sel[c+"-maire"]; !ok {
				t.Errorf("%s: mayor of %s not selected", tt.id, c)
			}
		}
		for _, c := range tt.out {
			if _, ok := sel[c+"-maire"]; ok {
				t.Errorf("%s: mayor of %s selected", tt.id, c)
			}
		}
	}
	for _, o := range selected(pbs["accident-industriel-seveso"]) {
		if o.Role != "maire" {
			t.Errorf("accident-industriel-seveso selects %s, a %s", o.ID, o.Role)
		}
	}
}

// longest returns the longest string of xs.
func longest(xs []string) string {
	var l string
	for _, x := range xs {
		if utf8.RuneCountInString(x) > utf8.RuneCountInString(l) {
			l = x
		}
	}
	return l
}

func TestShippedMessagesAreShort(t *testing.T) {
	var communes, names []string
	for _, c := range directory.Communes() {
		communes = append(communes, c.Name)
	}
	for _, o := range directory.Demo() {
		names = append(names, o.Name)
	}
	commune, name := longest(communes), longest(names)
	at := time.Date(2026, time.December, 31, 22, 59, 0, 0, time.UTC)
	for id, pb := range loadShipped(t) {
		for _, exercise := range []bool{false, true} {
			msg, err := Render(&pb, MessageData{
				Commune: commune, INSEE: "76039", Name: name, Role: "maire-delegue",
				Title: pb.Title, Code: "K7P2X9", At: at, Exercise: exercise,
			})
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if n := utf8.RuneCountInString(msg); n >= 320 {
				t.Errorf("%s (exercise %v): %d characters, want under 320:\n%s", id, exercise, n, msg)
			}
			if !strings.Contains(msg, commune) && strings.Contains(pb.Message, ".Commune") {
				t.Errorf("%s: commune missing from %q", id, msg)
			}
			if !strings.HasSuffix(msg, "Répondez OK (ou K7P2X9) pour accuser réception.") {
				t.Errorf("%s: no reply instruction at the end of %q", id, msg)
			}
			if exercise != strings.HasPrefix(msg, ExercisePrefix) && !pb.Exercise {
				t.Errorf("%s (exercise %v): %q", id, exercise, msg)
			}
		}
	}
}

// gsm7 holds the GSM 03.38 basic character set: a message made of these
// takes 160 characters an SMS, instead of 70.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

func TestShippedMessagesAreGSM7(t *testing.T) {
	at := time.Date(2026, time.June, 1, 8, 0, 0, 0, time.UTC)
	for id, pb := range loadShipped(t) {
		msg, err := Render(&pb, MessageData{Commune: "Dieppe", Name: "Jean Roncelin", Role: "maire", Title: pb.Title, Code: "K7P2", At: at, Note: "Point à 16h."})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, c := range msg {
			if !strings.ContainsRune(gsm7, c) {
				t.Errorf("%s: %q is not GSM-7, the SMS would hold 70 characters instead of 160: %s", id, c, msg)
			}
		}
	}
}
