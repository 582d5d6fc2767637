package tocsin

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	cases := []struct {
		body string
		n    int
		enc  Encoding
	}{
		{"", 1, GSM7},
		{strings.Repeat("a", 160), 1, GSM7},
		{strings.Repeat("a", 161), 2, GSM7},
		{strings.Repeat("a", 306), 2, GSM7},
		{strings.Repeat("a", 307), 3, GSM7},
		{strings.Repeat("€", 80), 1, GSM7}, // 160 septets: each € takes two
		{strings.Repeat("€", 81), 2, GSM7},
		{"Préfecture : évacuez, à l'école", 1, GSM7}, // é and à are in GSM-7
		{"Fête de l’été", 1, UCS2},                   // ê and ’ are not
		{strings.Repeat("ê", 70), 1, UCS2},
		{strings.Repeat("ê", 71), 2, UCS2},
		{strings.Repeat("ê", 135), 3, UCS2},
	}
	for _, c := range cases {
		n, enc := Segments(c.body)
		if n != c.n || enc != c.enc {
			t.Errorf("Segments(%.20q… len %d): got %d %s, want %d %s", c.body, len([]rune(c.body)), n, enc, c.n, c.enc)
		}
	}
}

func TestFoldTypographyKeepsLetters(t *testing.T) {
	in := "L’alerte « crue » — évacuez… la fête, l'île, ça\u00a0: 20\u202f%"
	got := FoldTypography(in)
	want := `L'alerte "crue" - évacuez... la fête, l'île, ça : 20 %`
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if nonGSM := NonGSM(got); strings.Join(nonGSM, "") != "êîç" {
		t.Errorf("NonGSM after folding: %q; want the accented letters only (ê î ç)", nonGSM)
	}
	if _, enc := Segments(FoldTypography("L’alerte « crue » à Rouen…")); enc != GSM7 {
		t.Errorf("folded punctuation-only message still %s", enc)
	}
}

// Every reason has its own label: metrics and logs tell them apart.
func TestEveryReasonHasItsOwnLabel(t *testing.T) {
	seen := map[string]Reason{}
	for _, r := range Reasons() {
		s := r.String()
		if s == "" || (s == "error" && r != ReasonUnknown) {
			t.Errorf("reason %d has no label", r)
		}
		if o, ok := seen[s]; ok {
			t.Errorf("reasons %d and %d share the label %q", o, r, s)
		}
		seen[s] = r
	}
	if Reason(-1).String() != "error" || Reason(len(seen)).String() != "error" {
		t.Error("a reason out of range must read as error")
	}
}
