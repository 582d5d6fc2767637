package directory

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestWriteCSVRoundTrip(t *testing.T) {
	officials := Demo()
	officials[0].Numbers = slices.Insert(officials[0].Numbers, 1, tocsin.Number{E164: "+32470123456", Kind: tocsin.Mobile})
	var buf bytes.Buffer
	if err := WriteCSV(&buf, officials); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	head, _, _ := strings.Cut(buf.String(), "\r\n")
	if want := "\ufeffid;nom;fonction;commune;nom_commune;mobile;fixe;suppleants"; head != want {
		t.Errorf("header %q, want %q", head, want)
	}
	if !strings.Contains(buf.String(), "06 39 98 10 00") {
		t.Errorf("numbers not written the French way:\n%.300s", buf.String())
	}
	back, err := ParseCSV(&buf)
	if err != nil {
		t.Fatalf("ParseCSV(WriteCSV(Demo())): %v", err)
	}
	if !reflect.DeepEqual(back, officials) {
		for i := range officials {
			if i < len(back) && !reflect.DeepEqual(back[i], officials[i]) {
				t.Fatalf("official %d:\n got %+v\nwant %+v", i, back[i], officials[i])
			}
		}
		t.Fatalf("round trip: got %d officials, want %d", len(back), len(officials))
	}
}
