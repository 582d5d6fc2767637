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

const goodCSV = `id,nom,fonction,commune,mobile,fixe,suppleants
76217-maire,Claire Aubrelin,Maire,76217,06 39 98 00 01,02 61 91 00 01,76217-adjoint1|76217-adjoint2
76217-adjoint1,Jean Bocquenet,Adjoint,76217,06.39.98.00.02 | +33 6 39 98 00 03,,
76217-adjoint2,Sophie Courtebise,adjointe au maire,76217,,02 61 91 00 01,
76351-depute,Michel Dantremont,Député,76351,0033 6 39 98 00 04,,
`

func TestParseCSV(t *testing.T) {
	got, err := ParseCSV(strings.NewReader(goodCSV))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	want := []tocsin.Official{
		{
			ID: "76217-maire", Name: "Claire Aubrelin", Role: "maire",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe", Lat: 49.91991, Lon: 1.08381,
			Numbers:  []tocsin.Number{{E164: "+33639980001", Kind: tocsin.Mobile}, {E164: "+33261910001", Kind: tocsin.Landline}},
			Deputies: []string{"76217-adjoint1", "76217-adjoint2"},
		},
		{
			ID: "76217-adjoint1", Name: "Jean Bocquenet", Role: "adjoint",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe", Lat: 49.91991, Lon: 1.08381,
			Numbers: []tocsin.Number{{E164: "+33639980002", Kind: tocsin.Mobile}, {E164: "+33639980003", Kind: tocsin.Mobile}},
		},
		{
			ID: "76217-adjoint2", Name: "Sophie Courtebise", Role: "adjoint",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe", Lat: 49.91991, Lon: 1.08381,
			Numbers: []tocsin.Number{{E164: "+33261910001", Kind: tocsin.Landline}},
		},
		{
			ID: "76351-depute", Name: "Michel Dantremont", Role: "depute",
			Commune: "76351", CommuneName: "Le Havre", Arrondissement: "Le Havre", Lat: 49.49582, Lon: 0.13119,
			Numbers: []tocsin.Number{{E164: "+33639980004", Kind: tocsin.Mobile}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseCSV:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseCSVSpreadsheetExports(t *testing.T) {
	tests := []struct{ name, data string }{
		{"semicolon, BOM, CRLF, French headers with accents and capitals",
			"\ufeffIdentifiant;Nom;Fonction;Code INSEE;Nom commune;Téléphone mobile;Téléphone fixe;Suppléants;Commentaire\r\n" +
				"76217-maire;Claire Aubrelin;MAIRE;76217;Dieppe;06 39 98 00 01;;;appeler le soir\r\n" +
				";;;;;;;;\r\n" +
				"76217-adjoint1;\"Bocquenet; Jean\";Adjoint;76217;dieppe;06 39 98 00 02;;76217-maire;\r\n"},
		{"tab, English headers",
			"id\tname\trole\tcommune\tmobile\tlandline\tdeputies\n" +
				"76217-maire\tClaire Aubrelin\tmaire\t76217\t639980001\t\t\n" +
				"76217-adjoint1\tBocquenet; Jean\tadjoint\t76217\t06 39 98 00 02\t\t76217-maire\n"},
		{"Excel's sep= line, blank lines before the header",
			"sep=;\r\n\r\nid;nom;fonction;commune;mobile;suppleants\r\n" +
				"76217-maire;Claire Aubrelin;maire;76217;06 39 98 00 01;\r\n" +
				"76217-adjoint1;\"Bocquenet; Jean\";adjoint;76217;06 39 98 00 02;76217-maire\r\n"},
		{"old Macintosh line ends",
			"id,nom,fonction,commune,mobile\r" +
				"76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01\r" +
				"76217-adjoint1,\"Bocquenet; Jean\",adjoint,76217,06 39 98 00 02\r"},
		{"comma, columns reordered, no fixe, no suppleants, trailing empty lines",
			"commune,mobile,id,fonction,nom\n" +
				"76217,06 39 98 00 01,76217-maire,maire,Claire Aubrelin\n" +
				"76217,06 39 98 00 02,76217-adjoint1,adjoint,\"Bocquenet; Jean\"\n\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.data))
			if err != nil {
				t.Fatalf("ParseCSV: %v", err)
			}
			if len(got) != 2 || got[0].ID != "76217-maire" || got[0].Role != "maire" || got[1].Name != "Bocquenet; Jean" ||
				got[0].Numbers[0].E164 != "+33639980001" || got[1].CommuneName != "Dieppe" {
				t.Errorf("ParseCSV = %+v", got)
			}
		})
	}
}

// importErrors runs ParseCSV on data, which must fail, and returns its
// errors.
func importErrors(t *testing.T, data string) []*tocsin.Error {
	t.Helper()
	got, err := ParseCSV(strings.NewReader(data))
	if got != nil {
		t.Errorf("ParseCSV returned %d officials with an error", len(got))
	}
	var list *tocsin.ListError
	if !errors.As(err, &list) {
		t.Fatalf("ParseCSV error = %v (%T), want a *tocsin.ListError", err, err)
	}
	if tocsin.ErrorCode(err) != tocsin.EInvalid {
		t.Errorf("error code %q, want %q", tocsin.ErrorCode(err), tocsin.EInvalid)
	}
	return list.Errs
}

func TestParseCSVErrors(t *testing.T) {
	const header = "id,nom,fonction,commune,mobile,fixe,suppleants\n"
	const mayor = "76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01,,\n"
	tests := []struct {
		name        string
		data        string
		field, want string
	}{
		{"empty file", "", "ligne 1", "fichier vide"},
		{"only a BOM", "\ufeff", "ligne 1", "fichier vide"},
		{"no header", mayor, "ligne 1", "en-tête manquant"},
		{"header only", header, "", "aucun élu dans le fichier"},
		{"missing column", "id,nom,commune,mobile\n" + mayor, "ligne 1", "colonne « fonction » manquante"},
		{"header after blank lines", "\r\n\nid,nom,commune,mobile\n" + mayor, "ligne 3", "colonne « fonction » manquante"},
		{"no number column", "id,nom,fonction,commune\n", "ligne 1", "« mobile » et « fixe » manquantes"},
		{"unknown column", "id,nom,fonction,commune,mobil\n", "ligne 1, colonne « mobil »", "colonne inconnue « mobil »"},
		{"duplicate column", "id,nom,fonction,commune,mobile,Portable\n", "ligne 1, colonne « Portable »", "colonne en double"},
		{"not UTF-8", header + mayor + "76351-maire,H\xe9l\xe8ne Roncelin,maire,76351,06 39 98 00 02,,\n", "ligne 3", "UTF-8"},
		{"bare quote", header + mayor + "76540-maire,Jean \"Jeannot\" Roncelin,maire,76540,06 39 98 00 02,,\n", "ligne 3", "guillemet"},
		{"unclosed quote", header + mayor + "76540-maire,\"Jean Roncelin,maire,76540,06 39 98 00 02,,\n", "ligne 3", "jamais fermé (cellule commencée ligne 3)"},
		{"cell without header", header + "76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01,,,oups\n", "ligne 2", "cellule sans en-tête « oups » (colonne n° 8)"},
		{"missing id", header + ",Claire Aubrelin,maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « id »", "identifiant manquant"},
		{"id in capitals", header + "76217-Maire,Claire Aubrelin,maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « id »", "en minuscules, par exemple « 76217-maire »"},
		{"bad id", header + "maire de dieppe,Claire Aubrelin,maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « id »", "identifiant invalide « maire de dieppe »"},
		{"duplicate id", header + mayor + "\n" + mayor, "ligne 4, colonne « id »", "identifiant « 76217-maire » déjà utilisé ligne 2"},
		{"missing name", header + "76217-maire,,maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « nom »", "nom manquant"},
		{"formula in name", header + "76217-maire,=1+1,maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « nom »", "ne peut pas commencer par « = »"},
		{"name on two lines", header + "76217-maire,\"Claire\nAubrelin\",maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « nom »", "tenir sur une ligne"},
		{"long name", header + "76217-maire," + strings.Repeat("a", 101) + ",maire,76217,06 39 98 00 01,,\n", "ligne 2, colonne « nom »", "nom trop long"},
		{"missing role", header + "76217-maire,Claire Aubrelin,,76217,06 39 98 00 01,,\n", "ligne 2, colonne « fonction »", "fonction manquante"},
		{"unknown role", header + "76217-maire,Claire Aubrelin,mair,76217,06 39 98 00 01,,\n", "ligne 2, colonne « fonction »", "fonction inconnue « mair »"},
		{"missing commune", header + "76217-maire,Claire Aubrelin,maire,,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "commune manquante"},
		{"unknown commune", header + "76217-maire,Claire Aubrelin,maire,75056,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "commune inconnue « 75056 »"},
		{"merged commune", header + "76358-maire,Claire Aubrelin,maire,76358,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "commune inconnue « 76358 »"},
		{"postal code", header + "76540-maire,Claire Aubrelin,maire,76000,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "« 76000 » est un code postal, pas un code INSEE : le code INSEE de Rouen est 76540"},
		{"postal code shared by communes", header + "76880-maire,Claire Aubrelin,maire,76880,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "code postal commun à 2 communes"},
		{"postal code that is another commune's INSEE code", header + "76217-maire,Claire Aubrelin,maire,76200,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "« 76200 » est le code INSEE de Critot, mais aussi le code postal de Dieppe : pour confirmer Critot, écrivez son nom dans la colonne « nom_commune »"},
		{"Rouen needs its name", header + "76540-maire,Claire Aubrelin,maire,76540,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "code INSEE de Rouen, mais aussi le code postal de"},
		{"commune name", header + "76217-maire,Claire Aubrelin,maire,Saint-Etienne-du-Rouvray,06 39 98 00 01,,\n", "ligne 2, colonne « commune »", "est un nom de commune : indiquez son code INSEE, 76575"},
		{"code and name disagree", "id,nom,fonction,commune,nom_commune,mobile\n76217-maire,Claire Aubrelin,maire,76217,Rouen,06 39 98 00 01\n", "ligne 2, colonne « nom_commune »", "le code INSEE 76217 est celui de « Dieppe », pas de « Rouen »"},
		{"bad number", header + mayor + "\n76540-maire,Jean Roncelin,maire,76540,06 12,,\n", "ligne 4, colonne « mobile »", "numéro invalide « 06 12 »"},
		{"second number bad", header + "76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01 | 06 39 98,,\n", "ligne 2, colonne « mobile »", "numéro invalide « 06 39 98 »"},
		{"two numbers with a comma", "id;nom;fonction;commune;mobile\n76217-maire;Claire Aubrelin;maire;76217;06 39 98 00 01, 06 39 98 00 02\n", "ligne 2, colonne « mobile »", "séparez-les par « | »"},
		{"landline in mobile", header + "76217-maire,Claire Aubrelin,maire,76217,02 61 91 00 01,,\n", "ligne 2, colonne « mobile »", "est un numéro fixe : mettez-le dans la colonne « fixe »"},
		{"mobile in fixe", header + "76217-maire,Claire Aubrelin,maire,76217,,06 39 98 00 01,\n", "ligne 2, colonne « fixe »", "est un numéro mobile : mettez-le dans la colonne « mobile »"},
		{"premium number", header + "76217-maire,Claire Aubrelin,maire,76217,,08 92 68 36 00,\n", "ligne 2, colonne « fixe »", "surtaxé"},
		{"same number twice", header + "76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01|0639980001,,\n", "ligne 2, colonne « mobile »", "en double sur cette ligne"},
		{"no number", header + "76217-maire,Claire Aubrelin,maire,76217, | ,,\n", "ligne 2", "aucun numéro"},
		{"unknown deputy", header + "76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01,,76217-adjoint\n", "ligne 2, colonne « suppleants »", "suppléant inconnu « 76217-adjoint »"},
		{"own deputy", header + "76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01,,76217-maire\n", "ligne 2, colonne « suppleants »", "son propre suppléant"},
		{"deputy twice", header + mayor + "76217-adjoint,Jean Roncelin,adjoint,76217,06 39 98 00 02,,76217-maire|76217-maire\n", "ligne 3, colonne « suppleants »", "cité deux fois"},
		{"English headers keep their names", "id,name,role,commune,mobile,landline\n76217-maire,Claire Aubrelin,maire,76217,,06 39 98 00 01\n", "ligne 2, colonne « landline »", "mettez-le dans la colonne « mobile »"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := importErrors(t, tt.data)
			for _, e := range errs {
				if e.Field == tt.field && strings.Contains(e.Message, tt.want) {
					return
				}
			}
			t.Errorf("errors %v\nwant one with field %q and message containing %q", describe(errs), tt.field, tt.want)
		})
	}
}

func describe(errs []*tocsin.Error) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  %q: %q", e.Field, e.Message)
	}
	return b.String()
}

func TestParseCSVCollectsAllErrorsInLineOrder(t *testing.T) {
	data := "id,nom,fonction,commune,mobile,fixe,suppleants\n" +
		"a,Claire Aubrelin,maire,76217,06 39 98 00 01,,zz\n" + // unknown deputy, found last
		"b,Jean Roncelin,mair,76217,06 12,,\n" + // two errors
		"C,Anne Ebrelin,maire,76217,06 39 98 00 03,,\n"
	errs := importErrors(t, data)
	want := []string{
		"ligne 2, colonne « suppleants »",
		"ligne 3, colonne « fonction »",
		"ligne 3, colonne « mobile »",
		"ligne 4, colonne « id »",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("error fields = %q, want %q", got, want)
	}
}

func TestParseCSVCapsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,nom,fonction,commune,mobile\n")
	for i := range 60 {
		fmt.Fprintf(&b, "m%d,Nom,maire,76217,06 12\n", i)
	}
	errs := importErrors(t, b.String())
	if len(errs) != maxCSVErrors+1 {
		t.Fatalf("%d errors, want %d and a note", len(errs), maxCSVErrors+1)
	}
	if last := errs[len(errs)-1]; !strings.Contains(last.Message, "10 autres erreurs") {
		t.Errorf("last error %q, want a note about 10 more", last.Message)
	}
	if errs[0].Field != "ligne 2, colonne « mobile »" {
		t.Errorf("first error at %q, want line 2", errs[0].Field)
	}
}

func TestParseCSVMultilineCellKeepsLines(t *testing.T) {
	data := "id,nom,fonction,commune,mobile,commentaire\n" +
		"76217-maire,Claire Aubrelin,maire,76217,06 39 98 00 01,\"joignable\nle soir\"\n" +
		"76351-maire,Jean Roncelin,maire,76351,06 12,\n"
	errs := importErrors(t, data)
	if len(errs) != 1 || errs[0].Field != "ligne 4, colonne « mobile »" {
		t.Errorf("errors %v, want one at ligne 4, colonne « mobile »", describe(errs))
	}
}

func TestParseCSVReadError(t *testing.T) {
	_, err := ParseCSV(errReader{})
	if err == nil || tocsin.ErrorCode(err) != tocsin.EInternal {
		t.Errorf("ParseCSV(failing reader) = %v, want an internal error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(goodCSV))
	f.Add([]byte("\ufeffid;nom;fonction;commune;mobile\r\n76217-maire;\"A \"\"B\"\"\";Maire;76217;06 39 98 00 01|02 61 91 00 01\r\n"))
	f.Add([]byte("id,nom,fonction,commune,mobile,fixe,suppleants\n76217-maire,\"x\ny\",maire,76217,06 12,,a|b|76217-maire\n\"unclosed"))
	f.Add([]byte("id\tname\trole\tcommune\tlandline\n1\t2\t3\t4\t5\t6\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseCSV(bytes.NewReader(data))
		if err != nil {
			var list *tocsin.ListError
			if !errors.As(err, &list) || len(list.Errs) == 0 {
				t.Fatalf("error %v (%T), want a non-empty *tocsin.ListError", err, err)
			}
			if got != nil {
				t.Fatalf("officials returned with an error")
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("no officials and no error")
		}
		ids := map[string]bool{}
		for _, o := range got {
			if !tocsin.ValidID(o.ID) || !tocsin.ValidRole(o.Role) || len(o.Numbers) == 0 || o.CommuneName == "" || ids[o.ID] {
				t.Fatalf("invalid official accepted: %+v", o)
			}
			ids[o.ID] = true
		}
		for _, o := range got {
			for _, d := range o.Deputies {
				if !ids[d] || d == o.ID {
					t.Fatalf("bad deputy %q accepted for %s", d, o.ID)
				}
			}
		}
	})
}

func TestParseCSVAmbiguousCodeConfirmedByName(t *testing.T) {
	data := "id;nom;fonction;commune;nom_commune;mobile\n" +
		"76540-maire;Claire Aubrelin;maire;76540;Rouen;06 39 98 00 01\n" +
		"76200-maire;Jean Roncelin;maire;76200;critot;06 39 98 00 02\n"
	got, err := ParseCSV(strings.NewReader(data))
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	if got[0].CommuneName != "Rouen" || got[1].CommuneName != "Critot" {
		t.Errorf("communes %q and %q, want Rouen and Critot", got[0].CommuneName, got[1].CommuneName)
	}
}
