package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// setStatus writes a recipient's new status, as a webhook would.
func setStatus(t *testing.T, st *etcd.Store, activation, official string, s tocsin.RecipientStatus, how string, attempt tocsin.AttemptStatus) {
	t.Helper()
	_, err := st.UpdateRecipient(context.Background(), activation, official, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		r.Status, r.InformedHow = s, how
		if attempt != "" {
			r.Attempts = append(r.Attempts, tocsin.Attempt{ID: "r0-" + string(attempt), Channel: tocsin.SMS, Status: attempt})
		}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func activate(t *testing.T, st *etcd.Store, id string, officials ...string) {
	t.Helper()
	a := &tocsin.Activation{ID: id, Title: id, State: tocsin.Open, ActivatedAt: time.Now().UTC()}
	var rs []tocsin.Recipient
	for _, o := range officials {
		rs = append(rs, tocsin.Recipient{Official: tocsin.Official{ID: o, Name: o}, Status: tocsin.StatusPending})
	}
	a.Targeted = len(rs)
	// Its entry waits in the outbox: these tests count the recipients'
	// entries alone, and verify reports it pending.
	created := tocsin.AuditEntry{Actor: "test", Action: tocsin.AuditActivationCreated, Activation: id}
	if err := st.CreateActivation(context.Background(), a, rs, tocsin.Event{Kind: tocsin.EventActivated}, created); err != nil {
		t.Fatal(err)
	}
}

// runFor runs a recorder until stop is called.
func runFor(t *testing.T, st *etcd.Store, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&audit.Recipients{Store: st, Every: every}).Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("recorder: %v", err)
		}
	}
}

// Recipients' state changes reach the trail once each, one entry per
// activation, even when the replica recording them dies before a flush:
// the next one replays them from the mark.
func TestRecipientChangesAreRecordedOnceAndSurviveADeathBeforeTheFlush(t *testing.T) {
	st := testingutil.MustStore(t)
	l := audit.New(st, nil, nil)
	ctx := context.Background()
	activate(t, st, "A1", "maire-1", "maire-2")
	activate(t, st, "A2", "maire-3")
	if _, err := st.AuditMark(ctx); err != nil { // the trail records from here
		t.Fatal(err)
	}

	stop := runFor(t, st, time.Hour) // never flushes before it dies
	setStatus(t, st, "A1", "maire-1", tocsin.StatusSent, "", tocsin.AttemptSent)
	setStatus(t, st, "A1", "maire-1", tocsin.StatusDelivered, "", tocsin.AttemptDelivered)
	setStatus(t, st, "A1", "maire-1", tocsin.StatusSending, "", "")
	setStatus(t, st, "A1", "maire-1", tocsin.StatusDelivered, "", "") // delivered again: not recorded
	setStatus(t, st, "A1", "maire-2", tocsin.StatusFailed, "", tocsin.AttemptFailed)
	setStatus(t, st, "A2", "maire-3", tocsin.StatusInformed, "sms", "")
	time.Sleep(50 * time.Millisecond)
	stop()
	if got, _, _ := l.List(ctx, audit.Filter{}, 0, 10); len(got) != 0 {
		t.Fatalf("entries before any flush: %+v", got)
	}

	stop = runFor(t, st, 10*time.Millisecond)
	var got []tocsin.AuditEntry
	testingutil.Eventually(t, 5*time.Second, "2 entries in the trail", func() bool {
		got, _, _ = l.List(ctx, audit.Filter{}, 0, 10)
		return len(got) >= 2
	})
	stop()
	want := map[string]string{
		"A1": "maire-1 : message distribué ; maire-2 : échec, plus rien à tenter sur l'échelle",
		"A2": "maire-3 : informé·e par réponse SMS",
	}
	if len(got) != 2 {
		t.Fatalf("got %d entries, want one per activation: %+v", len(got), got)
	}
	for _, e := range got {
		if e.Action != tocsin.AuditRecipients || e.Detail != want[e.Activation] {
			t.Errorf("entry for %s: %s %q, want %q", e.Activation, e.Action, e.Detail, want[e.Activation])
		}
	}

	// Another recorder, as after a failover: nothing is recorded twice.
	stop = runFor(t, st, 10*time.Millisecond)
	setStatus(t, st, "A1", "maire-1", tocsin.StatusInformed, "voice", "")
	testingutil.Eventually(t, 5*time.Second, "3 entries in the trail", func() bool {
		got, _, _ = l.List(ctx, audit.Filter{}, 0, 10)
		return len(got) >= 3
	})
	time.Sleep(50 * time.Millisecond)
	stop()
	got, _, _ = l.List(ctx, audit.Filter{}, 0, 10)
	if len(got) != 3 || !strings.Contains(got[2].Detail, "maire-1 : informé·e par la touche 1") {
		t.Fatalf("after the failover: %+v, want one more entry", got)
	}
	if res, err := l.Verify(ctx); err != nil || !res.OK {
		t.Errorf("chain: %+v, %v", res, err)
	}
}

// Changes the store compacted away before anyone recorded them: the trail
// says which revisions it could not record, and records the next changes.
func TestCompactedChangesLeaveANamedGap(t *testing.T) {
	st := testingutil.MustStore(t)
	l := audit.New(st, nil, nil)
	ctx := context.Background()
	activate(t, st, "A1", "maire-1")
	if _, err := st.AuditMark(ctx); err != nil {
		t.Fatal(err)
	}
	setStatus(t, st, "A1", "maire-1", tocsin.StatusFailed, "", tocsin.AttemptFailed)
	resp, err := st.Client().Get(ctx, "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	stop := runFor(t, st, 10*time.Millisecond)
	defer stop()
	var got []tocsin.AuditEntry
	testingutil.Eventually(t, 5*time.Second, "1 entries in the trail", func() bool {
		got, _, _ = l.List(ctx, audit.Filter{}, 0, 10)
		return len(got) >= 1
	})
	if len(got) != 1 || !strings.Contains(got[0].Detail, "non audités : l'historique d'etcd est compacté") {
		t.Fatalf("after a compaction: %+v, want the gap named", got)
	}
	setStatus(t, st, "A1", "maire-1", tocsin.StatusInformed, "sms", "")
	testingutil.Eventually(t, 5*time.Second, "2 entries in the trail", func() bool {
		got, _, _ = l.List(ctx, audit.Filter{}, 0, 10)
		return len(got) >= 2
	})
	if len(got) != 2 || got[1].Detail != "maire-1 : informé·e par réponse SMS" {
		t.Errorf("after the gap: %+v", got)
	}
}

// Writes made at the same moment share etcd transactions, so several
// recipients change at one revision: a flush, however often it comes,
// records all of them or none.
func TestRecipientsChangedInOneRevisionAreAllRecorded(t *testing.T) {
	st := testingutil.MustStore(t)
	l := audit.New(st, nil, nil)
	ctx := context.Background()
	var officials []string
	for i := range 60 {
		officials = append(officials, fmt.Sprintf("maire-%02d", i))
	}
	activate(t, st, "A1", officials...)
	if _, err := st.AuditMark(ctx); err != nil {
		t.Fatal(err)
	}
	stop := runFor(t, st, time.Millisecond)
	var wg sync.WaitGroup
	for _, o := range officials {
		wg.Go(func() { setStatus(t, st, "A1", o, tocsin.StatusInformed, "sms", "") })
	}
	wg.Wait()
	count := func() int {
		got, _, _ := l.List(ctx, audit.Filter{}, 0, 1000)
		n := 0
		for _, e := range got {
			n += strings.Count(e.Detail, "informé·e par réponse SMS")
		}
		return n
	}
	testingutil.Eventually(t, 5*time.Second, "60 acknowledgements in the trail", func() bool { return count() >= 60 })
	time.Sleep(20 * time.Millisecond)
	stop()
	if n := count(); n != 60 {
		t.Fatalf("%d acknowledgements in the trail, want 60", n)
	}
}

// The trail says when a message reached its official by the secondary
// route.
func TestFirstDeliveryNamesTheSecondaryRoute(t *testing.T) {
	prev := &tocsin.Recipient{Official: tocsin.Official{ID: "maire-1"}, Status: tocsin.StatusSent,
		Attempts: []tocsin.Attempt{{ID: "r0-1", Status: tocsin.AttemptSent, Route: tocsin.SecondaryRoute}}}
	cur := *prev
	cur.Status, cur.Attempts = tocsin.StatusDelivered, []tocsin.Attempt{{ID: "r0-1", Status: tocsin.AttemptDelivered, Route: tocsin.SecondaryRoute}}
	if got := audit.Changes(prev, &cur); len(got) != 1 || got[0] != "maire-1 : message distribué par la route de secours" {
		t.Errorf("Changes = %q", got)
	}
	cur.Attempts[0].Route = ""
	if got := audit.Changes(prev, &cur); len(got) != 1 || got[0] != "maire-1 : message distribué" {
		t.Errorf("Changes on the primary = %q", got)
	}
}
