package directory

import "testing"

func TestNormalizeRole(t *testing.T) {
	tests := map[string]string{
		"maire": "maire", "Maire": "maire", " MAIRE ": "maire",
		"Maire délégué": "maire-delegue", "maire-deleguee": "maire-delegue",
		"Adjoint": "adjoint", "Adjointe au maire": "adjoint", "1er adjoint": "adjoint",
		"Conseillère municipale": "conseiller",
		"Député":                 "depute", "députée": "depute",
		"Sénatrice":        "senateur",
		"Président d'EPCI": "president-epci", "president_epci": "president-epci",
		"autre": "autre",
	}
	for raw, want := range tests {
		if got, ok := NormalizeRole(raw); !ok || got != want {
			t.Errorf("NormalizeRole(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"", "mair", "préfet", "maire adjoint délégué"} {
		if got, ok := NormalizeRole(raw); ok {
			t.Errorf("NormalizeRole(%q) = %q, want refused", raw, got)
		}
	}
}
