package directory

import (
	"slices"
	"testing"
)

func TestCommunes(t *testing.T) {
	cs := Communes()
	if len(cs) != 707 {
		t.Fatalf("Communes() has %d communes, want 707 (COG 2026)", len(cs))
	}
	arr := map[string]string{"761": "Dieppe", "762": "Le Havre", "763": "Rouen"}
	for _, c := range cs {
		if len(c.INSEE) != 5 || c.INSEE[:2] != "76" {
			t.Errorf("commune %q: INSEE code not of Seine-Maritime", c.INSEE)
		}
		if c.Name == "" || c.EPCI == "" || c.PostalCode == "" || c.Population <= 0 {
			t.Errorf("commune %s: incomplete: %+v", c.INSEE, c)
		}
		if arr[c.ArrondissementCode] != c.Arrondissement {
			t.Errorf("commune %s: arrondissement %s %q", c.INSEE, c.ArrondissementCode, c.Arrondissement)
		}
		// Seine-Maritime lies within 49.2–50.1 N, 0–1.8 E.
		if c.Lat < 49.2 || c.Lat > 50.1 || c.Lon < 0 || c.Lon > 1.8 {
			t.Errorf("commune %s %s: point %v,%v outside the département", c.INSEE, c.Name, c.Lat, c.Lon)
		}
	}
	cs[0].Name = "changed"
	if Communes()[0].Name == "changed" {
		t.Error("Communes() returns the package's own slice")
	}
}

func TestCommuneByINSEE(t *testing.T) {
	c, ok := CommuneByINSEE("76217")
	if !ok || c.Name != "Dieppe" || c.Arrondissement != "Dieppe" || c.PostalCode != "76200" {
		t.Errorf("CommuneByINSEE(76217) = %+v, %v; want Dieppe", c, ok)
	}
	if c, ok := CommuneByINSEE("76484"); !ok || c.Name != "Oissel-sur-Seine" {
		t.Errorf("CommuneByINSEE(76484) = %+v, %v; want Oissel-sur-Seine", c, ok)
	}
	// Le Héron merged into Morville-le-Héron on 2025-01-01.
	if _, ok := CommuneByINSEE("76358"); ok {
		t.Error("CommuneByINSEE(76358) found Le Héron, gone since 2025")
	}
	for _, code := range []string{"", "76", "75056", "76217 "} {
		if _, ok := CommuneByINSEE(code); ok {
			t.Errorf("CommuneByINSEE(%q) found a commune", code)
		}
	}
}

func TestArrondissements(t *testing.T) {
	want := []string{"Dieppe", "Le Havre", "Rouen"}
	if got := Arrondissements(); !slices.Equal(got, want) {
		t.Errorf("Arrondissements() = %q, want %q", got, want)
	}
}

func TestSameCommuneName(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"Saint-Étienne-du-Rouvray", "saint etienne du rouvray", true},
		{"Saint-Étienne-du-Rouvray", "St-Etienne-du-Rouvray", true},
		{"Le Grand-Quevilly", "Grand-Quevilly", true},
		{"Sainte-Adresse", "Ste Adresse", true},
		{"Gonfreville-l'Orcher", "GONFREVILLE L ORCHER", true},
		{"Dieppe", "Rouen", false},
		{"Le Petit-Quevilly", "Le Grand-Quevilly", false},
	}
	for _, tt := range tests {
		if got := sameCommuneName(tt.a, tt.b); got != tt.want {
			t.Errorf("sameCommuneName(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCommunesWithin(t *testing.T) {
	got := CommunesWithin(49.858, 0.635, 5) // around the Paluel plant
	if len(got) == 0 || got[0].INSEE != "76493" {
		t.Fatalf("CommunesWithin(Paluel, 5 km) = %v, want Paluel first", got)
	}
	for _, c := range got {
		if c.Arrondissement != "Dieppe" && c.Arrondissement != "Le Havre" {
			t.Errorf("%s %s is %s", c.INSEE, c.Name, c.Arrondissement)
		}
	}
	if got := CommunesWithin(0.635, 49.858, 20); len(got) != 0 {
		t.Errorf("CommunesWithin(swapped point) = %d communes, want none", len(got))
	}
	if got := CommunesWithin(49.4, 1.0, 1000); len(got) != 707 {
		t.Errorf("CommunesWithin(1000 km) = %d communes, want all 707", len(got))
	}
}
