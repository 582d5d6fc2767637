package audit_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// putJSON writes v under key directly, as someone with access to etcd
// but not going through Tocsin would.
func putJSON(t *testing.T, st *etcd.Store, key string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().Put(context.Background(), key, string(b)); err != nil {
		t.Fatal(err)
	}
}

func mustVerifyResult(t *testing.T, l *audit.Log) audit.Result {
	t.Helper()
	res, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// names lists "activation/official" for each record of a result.
func names(us []audit.Unrecorded) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Activation+"/"+u.Official)
	}
	slices.Sort(out)
	return out
}

// An activation written straight into etcd, without its entry, is named
// by verify, which fails although the chain holds; one whose entry waits
// in the outbox is only pending.
func TestVerifyNamesAnActivationWrittenWithoutItsEntry(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	l := audit.New(st, nil, nil)
	activate(t, st, "A1", "maire-1")
	if _, err := l.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, l)

	now := time.Now().UTC()
	putJSON(t, st, "/test/act/A2", tocsin.Activation{ID: "A2", Title: "crue", State: tocsin.Open, ActivatedAt: now})
	activate(t, st, "A3", "maire-3") // its entry waits in the outbox
	res := mustVerifyResult(t, l)
	if res.OK || res.Break != nil || res.MissingCount != 1 || strings.Join(names(res.Missing), " ") != "A2/" ||
		!strings.Contains(res.Missing[0].Reason, "activation.created") {
		t.Errorf("verify: %+v; want A2 named as missing its entry, the chain intact", res)
	}
	if strings.Join(names(res.Pending), " ") != "A3/" || res.Outbox != 1 {
		t.Errorf("pending: %+v; want A3 only", res.Pending)
	}

	// An imported activation needs the import's entry.
	imp := tocsin.Activation{ID: "H1", Title: "crue de 2025", State: tocsin.Closed, ActivatedAt: now.Add(-time.Hour),
		Imported: &tocsin.Import{Source: "registre", At: now, By: "admin"}}
	putJSON(t, st, "/test/act/H1", imp)
	if res := mustVerifyResult(t, l); res.MissingCount != 2 || strings.Join(names(res.Missing), " ") != "A2/ H1/" {
		t.Errorf("verify with an import unrecorded: %+v; want A2 and H1", res)
	}
	// A trail kept before imports named each activation: the summary by
	// the same user, after the import, accounts for it.
	if _, err := l.Append(ctx, "admin", tocsin.AuditHistoryImported, "", "historique importé : 1 activations importées"); err != nil {
		t.Fatal(err)
	}
	if res := mustVerifyResult(t, l); strings.Join(names(res.Missing), " ") != "A2/" {
		t.Errorf("verify with the import's summary: %+v; want A2 alone", res)
	}
}

// Informed recipients need an entry: a recipients.changed line, a manual
// confirmation, or a recipient.informed entry of older trails. One written
// straight into etcd is named; one acknowledged by SMS after the leader's
// mark is pending, not missing.
func TestVerifyNamesAnInformedRecipientWithoutItsEntry(t *testing.T) {
	st := testingutil.MustStore(t)
	ctx := context.Background()
	l := audit.New(st, nil, nil)
	officials := []string{"par-sms", "par-touche", "a-la-main", "ancien-sms", "ancienne-touche", "en-douce", "apres-la-marque"}
	activate(t, st, "A1", officials...)
	mark, err := st.AuditMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inform := func(official, how string) {
		t.Helper()
		at := time.Now().UTC()
		if _, err := st.UpdateRecipient(ctx, "A1", official, func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			r.Status, r.InformedAt, r.InformedHow = tocsin.StatusInformed, &at, how
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for o, how := range map[string]string{"par-sms": "sms", "par-touche": "voice", "a-la-main": "manual",
		"ancien-sms": "sms", "ancienne-touche": "voice", "en-douce": "manual"} {
		inform(o, how)
	}
	// The leader recorded the SMS and key presses up to here.
	head, err := st.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recorded := tocsin.AuditEntry{At: time.Now(), Actor: "twilio", Action: tocsin.AuditRecipients, Activation: "A1",
		Detail: "par-sms : message distribué ; par-sms : informé·e par réponse SMS ; par-touche : informé·e par la touche 1 pendant l'appel"}
	if ok, err := st.AppendAuditMarked(ctx, []tocsin.AuditEntry{audit.Seal(recorded, head)}, head, mark, rev); err != nil || !ok {
		t.Fatalf("record recipients: %v, %v", ok, err)
	}
	for _, e := range []struct{ action, detail string }{
		{tocsin.AuditConfirmed, "Maire (à la main) (a-la-main) confirmé·e à la main : joint·e par Maire (téléphone)"},
		{tocsin.AuditInformed, "réponse SMS d'accusé de réception pour [ancien-sms autre]"},
		{tocsin.AuditInformed, "ancienne-touche informé·e : touche 1 pendant l'appel"},
	} {
		if _, err := l.Append(ctx, "permanence", e.action, "A1", e.detail); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	inform("apres-la-marque", "sms") // the leader has yet to read it

	res := mustVerifyResult(t, l)
	if res.OK || res.MissingCount != 1 || strings.Join(names(res.Missing), " ") != "A1/en-douce" {
		t.Errorf("missing: %+v; want A1/en-douce alone", res)
	}
	if strings.Join(names(res.Pending), " ") != "A1/apres-la-marque" {
		t.Errorf("pending: %+v; want A1/apres-la-marque alone", res.Pending)
	}
}
