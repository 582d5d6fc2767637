package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// The mayor of Dieppe gets the SMS and replies OK: the leader records the
// delivery and the acknowledgement in the audit trail, in one entry of the
// activation, and the chain stays whole.
func TestDeliveryAndAcknowledgementReachTheAuditTrail(t *testing.T) {
	t.Parallel()
	m := fictionMobile(70)
	profile := twiliosim.Profile{Numbers: map[string]twiliosim.Persona{
		m: {Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(300 * time.Millisecond)},
	}, Delivery: twiliosim.Fixed(50 * time.Millisecond)}
	a := mustRunApp(t, app.Config{SimulatorProfile: &profile})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(m))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	waitFor(t, a, v.ID, 10*time.Second, "the mayor informed", func(v *view) bool { return v.Summary.Informed == 1 })
	testingutil.Await(t, 5*time.Second, "the trail to say the delivery and the reply", func() (string, bool) {
		var entries auditEntries
		api(t, a, "GET", "/api/v1/audit?activation="+v.ID, nil, &entries)
		said := ""
		for _, e := range entries.Entries {
			if e.Action == tocsin.AuditRecipients {
				said += e.Detail + " | "
			}
		}
		return said, strings.Contains(said, "dieppe : message distribué") && strings.Contains(said, "dieppe : informé·e par réponse SMS")
	})
	var res struct {
		OK bool `json:"ok"`
	}
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK {
		t.Errorf("the chain is broken")
	}
}

// A user is created while the replica's drain cannot run (here: the write
// made straight on the store, as when the replica dies between the commit
// and the drain). The entry, written with the user, reaches the trail
// through the leader's periodic drain: once, with the time of the change.
func TestAnEntryLeftInTheOutboxReachesTheTrailThroughTheLeader(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC))
	a := mustRunApp(t, app.Config{Clock: clock})
	at := clock.Now().Add(-time.Minute)
	if err := a.Store().CreateUser(t.Context(), tocsin.User{Name: "marie", Role: tocsin.RoleOfficer}, "",
		tocsin.AuditEntry{At: at, Actor: "admin", Action: tocsin.AuditConfig, Detail: "utilisateur marie créé (officer)"}); err != nil {
		t.Fatal(err)
	}
	got := testingutil.Await(t, 20*time.Second, "marie's creation in the trail", func() ([]tocsin.AuditEntry, bool) {
		var all auditEntries
		api(t, a, "GET", "/api/v1/audit", nil, &all)
		got := slices.DeleteFunc(all.Entries, func(e tocsin.AuditEntry) bool { return e.Detail != "utilisateur marie créé (officer)" })
		return got, len(got) > 0
	})
	if len(got) != 1 || !got[0].At.Equal(at) || got[0].Actor != "admin" {
		t.Fatalf("trail holds %+v; want marie's creation once, by admin at %s", got, at)
	}
	var res struct {
		OK     bool `json:"ok"`
		Outbox int  `json:"outbox"`
	}
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK || res.Outbox != 0 {
		t.Errorf("verify: %+v; want ok and nothing left in the outbox", res)
	}
}

// An activation written into etcd behind Tocsin's back, and a recipient
// marked informed there, have no entry: verify says so, naming them.
func TestVerifyNamesWhatWasWrittenBehindTocsinsBack(t *testing.T) {
	t.Parallel()
	a := mustRunApp(t, app.Config{})
	if err := a.Store().ReplaceOfficials(t.Context(), []tocsin.Official{mayorOf("dieppe", mobile(fictionMobile(71)))}); err != nil {
		t.Fatal(err)
	}
	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("create: status %d", st)
	}
	var res struct {
		OK      bool `json:"ok"`
		Missing []struct {
			Activation string `json:"activation"`
			Official   string `json:"official"`
		} `json:"missing"`
	}
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK {
		t.Fatalf("verify after a created activation: %+v; want ok", res)
	}
	cli := a.Store().Client()
	if _, err := cli.Put(t.Context(), "/tocsin/act/en-douce", `{"id":"en-douce","title":"crue","state":"open","activated_at":"2026-03-01T07:00:00Z"}`); err != nil {
		t.Fatal(err)
	}
	r, err := cli.Get(t.Context(), "/tocsin/rcpt/"+v.ID+"/dieppe")
	if err != nil || len(r.Kvs) == 0 {
		t.Fatalf("read the mayor: %v", err)
	}
	informed := strings.Replace(string(r.Kvs[0].Value), `"status":"`, `"informed_at":"2026-03-01T07:05:00Z","informed_how":"manual","status":"`, 1)
	if _, err := cli.Put(t.Context(), "/tocsin/rcpt/"+v.ID+"/dieppe", informed); err != nil {
		t.Fatal(err)
	}
	api(t, a, "GET", "/api/v1/audit/verify", nil, &res)
	var named []string
	for _, m := range res.Missing {
		named = append(named, m.Activation+"/"+m.Official)
	}
	want := []string{"en-douce/", v.ID + "/dieppe"}
	slices.Sort(named)
	slices.Sort(want)
	if res.OK || !slices.Equal(named, want) {
		t.Errorf("verify: ok %v, missing %v; want en-douce/ and %s/dieppe", res.OK, named, v.ID)
	}
}
