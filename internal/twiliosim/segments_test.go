package twiliosim

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestSegments(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		n    int
		enc  Encoding
	}{
		{"empty", "", 1, GSM7},
		{"plain", "Alerte crue : répondez OK", 1, GSM7},
		{"160 GSM", strings.Repeat("a", 160), 1, GSM7},
		{"161 GSM", strings.Repeat("a", 161), 2, GSM7},
		{"306 GSM", strings.Repeat("a", 306), 2, GSM7},
		{"307 GSM", strings.Repeat("a", 307), 3, GSM7},
		{"extension counts twice", strings.Repeat("€", 80), 1, GSM7},
		{"extension over", strings.Repeat("€", 81), 2, GSM7},
		{"ê forces UCS-2", "Préfète : fenêtres fermées", 1, UCS2},
		{"ç forces UCS-2", "reçu", 1, UCS2},
		{"curly apostrophe", "l’alerte", 1, UCS2},
		{"70 UCS-2", "ê" + strings.Repeat("a", 69), 1, UCS2},
		{"71 UCS-2", "ê" + strings.Repeat("a", 70), 2, UCS2},
		{"134 UCS-2", "ê" + strings.Repeat("a", 133), 2, UCS2},
		{"135 UCS-2", "ê" + strings.Repeat("a", 134), 3, UCS2},
		{"emoji takes two units", "🚨" + strings.Repeat("a", 68), 1, UCS2},
		{"emoji over", "🚨" + strings.Repeat("a", 69), 2, UCS2},
	} {
		n, enc := Segments(c.body)
		if n != c.n || enc != c.enc {
			t.Errorf("%s: %d %s, want %d %s", c.name, n, enc, c.n, c.enc)
		}
	}
}

// The simulator's count and Tocsin's are written apart: on every message
// the shipped playbooks can produce and on random text over both
// alphabets, they must agree, or one of them is wrong.
func TestSegmentsAgreeWithTocsinsOwnCount(t *testing.T) {
	alphabet := []rune("aé€[ê’ç@ÆΩ\n😀 .,;:!?0123456789AZaz^{}ùìò¡¿§ñÑ«»…")
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		n := rnd.IntN(400)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rnd.IntN(len(alphabet))])
		}
		body := b.String()
		gotN, gotEnc := Segments(body)
		wantN, wantEnc := tocsin.Segments(body)
		if gotN != wantN || gotEnc != wantEnc {
			t.Fatalf("case %d, %q: simulator %d %s, Tocsin %d %s", i, body, gotN, gotEnc, wantN, wantEnc)
		}
	}
}
