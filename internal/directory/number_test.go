package directory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		raw  string
		want string
		kind tocsin.NumberKind
	}{
		{"06 12 34 56 78", "+33612345678", tocsin.Mobile},
		{"06.12.34.56.78", "+33612345678", tocsin.Mobile},
		{"06-12-34-56-78", "+33612345678", tocsin.Mobile},
		{"0612345678", "+33612345678", tocsin.Mobile},
		{"  06 12 34 56 78  ", "+33612345678", tocsin.Mobile},
		{"06\u00a012\u00a034\u00a056\u00a078", "+33612345678", tocsin.Mobile},
		{"+33 6 12 34 56 78", "+33612345678", tocsin.Mobile},
		{"+33 (0)6 12 34 56 78", "+33612345678", tocsin.Mobile},
		{"+33612345678", "+33612345678", tocsin.Mobile},
		{"0033 6 12 34 56 78", "+33612345678", tocsin.Mobile},
		{"612345678", "+33612345678", tocsin.Mobile}, // a spreadsheet dropped the 0
		{"'06 12 34 56 78", "+33612345678", tocsin.Mobile},
		{"07 81 23 45 67", "+33781234567", tocsin.Mobile},
		{"02 35 12 34 56", "+33235123456", tocsin.Landline},
		{"+33 2 35 12 34 56", "+33235123456", tocsin.Landline},
		{"09 72 12 34 56", "+33972123456", tocsin.Landline}, // a box's VoIP line
		{"+32 470 12 34 56", "+32470123456", tocsin.Mobile},
		{"0032 470 12 34 56", "+32470123456", tocsin.Mobile},
		// ARCEP fiction ranges.
		{"06 39 98 12 34", "+33639981234", tocsin.Mobile},
		{"+33 6 39 98 00 00", "+33639980000", tocsin.Mobile},
		{"01 99 00 12 34", "+33199001234", tocsin.Landline},
		{"02 61 91 12 34", "+33261911234", tocsin.Landline},
		{"03 53 01 12 34", "+33353011234", tocsin.Landline},
		{"04 65 71 12 34", "+33465711234", tocsin.Landline},
		{"05 36 49 12 34", "+33536491234", tocsin.Landline},
	}
	for _, tt := range tests {
		got, err := ParseNumber(tt.raw)
		if err != nil {
			t.Errorf("ParseNumber(%q): %v, want %s", tt.raw, err, tt.want)
			continue
		}
		if got.E164 != tt.want || got.Kind != tt.kind {
			t.Errorf("ParseNumber(%q) = %s %s, want %s %s", tt.raw, got.E164, got.Kind, tt.want, tt.kind)
		}
	}
}

func TestParseNumberRefused(t *testing.T) {
	tests := []struct {
		raw, want string // want: a part of the message
	}{
		{"", "numéro vide"},
		{"   ", "numéro vide"},
		{"06 12", "numéro invalide « 06 12 » : trop court"},
		{"112", "trop court"},
		{"3615", "trop court"},
		{"06 12 34 56 78 9", "trop long"},
		{"06 12 34 56 7a", "seuls les chiffres"},
		{"06 12 34 56 78 poste 12", "seuls les chiffres"},
		{"0612345678;ext=12", "seuls les chiffres"},
		{"06+12345678", "seuls les chiffres"},
		{"08 92 68 36 00", "surtaxé"},
		{"08 10 12 34 56", "coût partagé"},
		{"08 21 61 00 00", "coût partagé"},
		{"08 00 12 34 56", "numéro vert"},
		{"08 06 12 34 56", "numéro spécial"},
		{"07 12 34 56 78", "n'existe pas"},
		{"06 39 98 12 3", "numéro invalide"},    // one digit short of the fiction range
		{"06 39 98 12 345", "numéro invalide"},  // one too many
		{"+999 1234 5678", "indicatif"},         // no such country
		{"++33612345678", "seuls les chiffres"}, // a second +
		{strings.Repeat("0", 60), "trop long"},
	}
	for _, tt := range tests {
		got, err := ParseNumber(tt.raw)
		if err == nil {
			t.Errorf("ParseNumber(%q) = %v, want an error with %q", tt.raw, got, tt.want)
			continue
		}
		if tocsin.ErrorCode(err) != tocsin.EInvalid {
			t.Errorf("ParseNumber(%q): code %q, want %q", tt.raw, tocsin.ErrorCode(err), tocsin.EInvalid)
		}
		if msg := tocsin.ErrorMessage(err); !strings.Contains(msg, tt.want) {
			t.Errorf("ParseNumber(%q): message %q, want it to contain %q", tt.raw, msg, tt.want)
		}
	}
}

func TestIsFiction(t *testing.T) {
	tests := []struct {
		e164 string
		want bool
	}{
		{"+33639981234", true},
		{"+33199000000", true},
		{"+33261919999", true},
		{"+33353010001", true},
		{"+33465710001", true},
		{"+33536490001", true},
		{"+33612345678", false},
		{"+33639971234", false},
		{"+3363998123", false},
		{"+336399812345", false},
		{"+3363998abcd", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsFiction(tt.e164); got != tt.want {
			t.Errorf("IsFiction(%q) = %v, want %v", tt.e164, got, tt.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct{ e164, want string }{
		{"+33612345678", "06 12 34 56 78"},
		{"+33639981234", "06 39 98 12 34"},
		{"+33261911000", "02 61 91 10 00"},
		{"+32470123456", "0032 470 12 34 56"},
		{"garbage", "garbage"},
	}
	for _, tt := range tests {
		got := FormatNumber(tt.e164)
		if got != tt.want {
			t.Errorf("FormatNumber(%q) = %q, want %q", tt.e164, got, tt.want)
		}
		if tt.e164 == "garbage" {
			continue
		}
		if back, err := ParseNumber(got); err != nil || back.E164 != tt.e164 {
			t.Errorf("ParseNumber(FormatNumber(%q)) = %v, %v; want it back", tt.e164, back, err)
		}
	}
}

func TestParseNumbersNamesEveryWrongField(t *testing.T) {
	ns, err := ParseNumbers([]string{"06 39 98 00 01", ""}, []string{"02 61 91 00 01"})
	if err != nil || len(ns) != 2 || ns[0].E164 != "+33639980001" || ns[0].Kind != tocsin.Mobile || ns[1].Kind != tocsin.Landline {
		t.Fatalf("good numbers: %+v, %v", ns, err)
	}
	_, err = ParseNumbers([]string{"02 61 91 00 01", "123", "06 39 98 00 01", "06.39.98.00.01"}, []string{"06 39 98 00 02"})
	msg := fmt.Sprint(err)
	for _, want := range []string{"mobile[0] : « 02 61 91 00 01 » est une ligne fixe", "mobile[1] : numéro invalide", "mobile[3] : « 06.39.98.00.01 » est déjà donné", "fixe[0] : « 06 39 98 00 02 » est un numéro mobile"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if _, err := ParseNumbers(nil, []string{" "}); tocsin.ErrorCode(err) != tocsin.EInvalid || !strings.Contains(err.Error(), "au moins un numéro") {
		t.Errorf("no number: %v", err)
	}
}
