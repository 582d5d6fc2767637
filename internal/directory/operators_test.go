package directory

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestParseOperatorsCSV(t *testing.T) {
	data := "\ufeffIdentifiant;Nom;Téléphone mobile;Fixe;Disponible;Service\r\n" +
		"cip-01;Anne Lecourt;06 39 98 10 01;;oui;SIDPC\r\n" +
		";;;;;\r\n" +
		"cip-02;Paul Vasseur;06 39 98 10 02 | 06 39 98 10 03;02 61 91 10 02;NON;\r\n" +
		"cip-03;Lise Morin;;02 61 91 10 03;;bénévole\r\n"
	got, err := ParseOperatorsCSV(strings.NewReader(data))
	if err != nil {
		t.Fatalf("ParseOperatorsCSV: %v", err)
	}
	want := []tocsin.Operator{
		{ID: "cip-01", Name: "Anne Lecourt", Numbers: []tocsin.Number{{E164: "+33639981001", Kind: tocsin.Mobile}}, Available: true},
		{ID: "cip-02", Name: "Paul Vasseur", Numbers: []tocsin.Number{{E164: "+33639981002", Kind: tocsin.Mobile}, {E164: "+33639981003", Kind: tocsin.Mobile},
			{E164: "+33261911002", Kind: tocsin.Landline}}},
		{ID: "cip-03", Name: "Lise Morin", Numbers: []tocsin.Number{{E164: "+33261911003", Kind: tocsin.Landline}}, Available: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseOperatorsCSV:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseOperatorsCSVErrors(t *testing.T) {
	const header = "id,nom,mobile,fixe,disponible\n"
	tests := []struct {
		name, data, field, want string
	}{
		{"empty file", "", "ligne 1", "fichier vide"},
		{"no operator", header, "", "aucun opérateur"},
		{"no name column", "id,mobile\ncip-01,06 39 98 10 01\n", "ligne 1", "colonne « nom » manquante"},
		{"no number column", "id,nom\ncip-01,Anne\n", "ligne 1", "« mobile » et « fixe » manquantes"},
		{"unknown column", "id,nom,mobile,fonction\ncip-01,Anne,06 39 98 10 01,maire\n", "ligne 1, colonne « fonction »", "colonne inconnue"},
		{"bad availability", header + "cip-01,Anne Lecourt,06 39 98 10 01,,peut-être\n", "ligne 2, colonne « disponible »", "écrivez « oui » ou « non »"},
		{"landline in mobile", header + "cip-01,Anne Lecourt,02 61 91 10 01,,oui\n", "ligne 2, colonne « mobile »", "numéro fixe"},
		{"no number", header + "cip-01,Anne Lecourt,,,oui\n", "ligne 2", "aucun numéro"},
		{"duplicate id", header + "cip-01,Anne Lecourt,06 39 98 10 01,,\ncip-01,Paul Vasseur,06 39 98 10 02,,\n", "ligne 3, colonne « id »", "déjà utilisé ligne 2"},
		{"bad id", header + "CIP 1,Anne Lecourt,06 39 98 10 01,,\n", "ligne 2, colonne « id »", "identifiant invalide"},
		{"formula name", header + "cip-01,=Anne,06 39 98 10 01,,\n", "ligne 2, colonne « nom »", "ne peut pas commencer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOperatorsCSV(strings.NewReader(tt.data))
			if got != nil {
				t.Errorf("%d operators returned with an error", len(got))
			}
			var list *tocsin.ListError
			if !errors.As(err, &list) {
				t.Fatalf("error = %v (%T), want a *tocsin.ListError", err, err)
			}
			for _, e := range list.Errs {
				if e.Field == tt.field && strings.Contains(e.Message, tt.want) {
					return
				}
			}
			t.Errorf("no error at %q containing %q; got:%s", tt.field, tt.want, describe(list.Errs))
		})
	}
}

func TestParseOperatorsCSVBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,nom,mobile\n")
	for i := range tocsin.MaxOperators + 1 {
		fmt.Fprintf(&b, "cip-%03d,Opérateur %d,06 39 98 10 01\n", i, i)
	}
	_, err := ParseOperatorsCSV(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "au plus") {
		t.Errorf("roster of %d operators: error %v, want one saying the bound", tocsin.MaxOperators+1, err)
	}
}

func FuzzParseOperatorsCSV(f *testing.F) {
	f.Add([]byte("id;nom;mobile;disponible\r\ncip-01;Anne;06 39 98 10 01;non\r\n"))
	f.Add([]byte("id,nom,fixe\n\"x\ny\",a,02 61 91 10 01\n\"unclosed"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseOperatorsCSV(bytes.NewReader(data))
		if err != nil {
			var list *tocsin.ListError
			if !errors.As(err, &list) || len(list.Errs) == 0 || got != nil {
				t.Fatalf("error %v (%T) with %d operators, want a non-empty *tocsin.ListError and none", err, err, len(got))
			}
			return
		}
		ids := map[string]bool{}
		for _, o := range got {
			if !tocsin.ValidID(o.ID) || o.Name == "" || len(o.Numbers) == 0 || ids[o.ID] {
				t.Fatalf("invalid operator accepted: %+v", o)
			}
			ids[o.ID] = true
		}
		if len(got) == 0 || len(got) > tocsin.MaxOperators {
			t.Fatalf("%d operators accepted", len(got))
		}
	})
}
