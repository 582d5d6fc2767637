package reconcile

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

var t0 = time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)

// fakeStore holds open activations and their recipients.
type fakeStore struct {
	acts []tocsin.Activation
	rs   map[string][]tocsin.Recipient
	err  error
}

func (f *fakeStore) OpenActivations(context.Context) ([]tocsin.Activation, error) {
	return f.acts, f.err
}
func (f *fakeStore) Recipients(_ context.Context, id string) ([]tocsin.Recipient, error) {
	return f.rs[id], f.err
}

func official(id, number string) tocsin.Official {
	return tocsin.Official{ID: id, Numbers: []tocsin.Number{{E164: number, Kind: tocsin.Mobile}}}
}

// recorder is what the reconciler applied.
type recorder struct {
	mu       sync.Mutex
	replies  []tocsin.Inbound
	statuses []Ref
}

func (r *recorder) reply(_ context.Context, in tocsin.Inbound) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, in)
	return true, nil
}

func (r *recorder) status(_ context.Context, ref Ref, _ tocsin.ProviderMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, ref)
	return nil
}

func sids(ins []tocsin.Inbound) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.SID)
	}
	return out
}

func TestRepliesAppliedAreOnlyThoseThatCouldStillInformSomeone(t *testing.T) {
	act := tocsin.Activation{ID: "a1", ActivatedAt: t0}
	informedAt := t0.Add(time.Minute)
	store := &fakeStore{acts: []tocsin.Activation{act}, rs: map[string][]tocsin.Recipient{"a1": {
		{Official: official("dieppe", "+33639980001")},
		{Official: official("eu", "+33639980002"), InformedAt: &informedAt, Replies: []string{"SMeu"}},
		{Official: official("fecamp", "+33639980003"), Deputies: []tocsin.Contact{{ID: "adjoint", Numbers: []tocsin.Number{{E164: "+33639980009"}}}}},
	}}}
	now := t0.Add(10 * time.Minute)
	listed := []tocsin.Inbound{
		{SID: "SMlate", From: "+33639980001", Body: "OK", At: t0.Add(3 * time.Minute)},
		{SID: "SMfirst", From: "+33639980001", Body: "OK", At: t0.Add(2 * time.Minute)},
		{SID: "SMeu", From: "+33639980002", Body: "OK", At: t0.Add(time.Minute)},             // recorded by its webhook
		{SID: "SMeu2", From: "+33639980002", Body: "OK encore", At: t0.Add(4 * time.Minute)}, // official informed already
		{SID: "SMstranger", From: "+33600000000", Body: "OK", At: t0.Add(2 * time.Minute)},   // nobody's number
		{SID: "SMbefore", From: "+33639980003", Body: "OK", At: t0.Add(-time.Minute)},        // before the activation
		{SID: "SMdeputy", From: "+33639980009", Body: "OK", At: t0.Add(5 * time.Minute)},     // a deputy's number
		{SID: "SMyoung", From: "+33639980003", Body: "OK", At: now.Add(-5 * time.Second)},    // its webhook may be on its way
	}
	var rec recorder
	var sinces []time.Time
	r := New(Config{Store: store, Now: func() time.Time { return now },
		Replies: func(_ context.Context, since time.Time) ([]tocsin.Inbound, error) {
			sinces = append(sinces, since)
			return slices.DeleteFunc(slices.Clone(listed), func(in tocsin.Inbound) bool { return in.At.Before(since) }), nil
		},
		ApplyReply: rec.reply})
	res, err := r.Pass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SMfirst", "SMlate", "SMdeputy"} // oldest first
	if got := sids(rec.replies); !slices.Equal(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
	if res.Replies != 3 || res.Again <= 0 || res.Again > DefaultGrace {
		t.Errorf("result %+v, want 3 replies and a pass again within the grace for SMyoung", res)
	}

	// A second pass redoes nothing; once SMyoung is old enough, it goes.
	rec.replies = nil
	if _, err := r.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(rec.replies) != 0 {
		t.Errorf("second pass applied %v again", sids(rec.replies))
	}
	now = now.Add(DefaultGrace)
	if _, err := r.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sids(rec.replies); !slices.Equal(got, []string{"SMyoung"}) {
		t.Errorf("after the grace: applied %v, want [SMyoung]", got)
	}
	// The first listing goes back to the activation's start; the next
	// ones to a little before what the last left to its webhooks.
	first := t0.Add(10 * time.Minute)
	want = nil
	for _, since := range []time.Time{t0, first.Add(-DefaultGrace - listOverlap), first.Add(-DefaultGrace - listOverlap)} {
		want = append(want, since.Format(time.TimeOnly))
	}
	var got []string
	for _, since := range sinces {
		got = append(got, since.Format(time.TimeOnly))
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed since %v, want %v", got, want)
	}
}

// A pass that fails does not move the listing's window: the replies it
// did not apply are listed again by the next one.
func TestAFailedPassListsItsRepliesAgain(t *testing.T) {
	act := tocsin.Activation{ID: "a1", ActivatedAt: t0}
	store := &fakeStore{acts: []tocsin.Activation{act}, rs: map[string][]tocsin.Recipient{"a1": {
		{Official: official("dieppe", "+33639980001")},
	}}}
	now := t0.Add(30 * time.Minute)
	fail := errors.New("stockage indisponible")
	var sinces []time.Time
	applied := 0
	r := New(Config{Store: store, Now: func() time.Time { return now },
		Replies: func(_ context.Context, since time.Time) ([]tocsin.Inbound, error) {
			sinces = append(sinces, since)
			return []tocsin.Inbound{{SID: "SM1", From: "+33639980001", Body: "OK", At: t0.Add(time.Minute)}}, nil
		},
		ApplyReply: func(context.Context, tocsin.Inbound) (bool, error) {
			if applied++; applied == 1 {
				return false, fail
			}
			return true, nil
		}})
	if _, err := r.Pass(t.Context()); !errors.Is(err, fail) {
		t.Fatalf("first pass: %v, want %v", err, fail)
	}
	now = now.Add(DefaultInterval)
	if res, err := r.Pass(t.Context()); err != nil || res.Replies != 1 {
		t.Fatalf("second pass: %+v, %v; want the reply applied", res, err)
	}
	if len(sinces) != 2 || !sinces[0].Equal(t0) || !sinces[1].Equal(t0) {
		t.Errorf("listed since %v, want the activation's start twice", sinces)
	}
}

func TestStatusesStillUnsettledAfterAnIntervalAreReadFromTheProvider(t *testing.T) {
	act := tocsin.Activation{ID: "a1", ActivatedAt: t0}
	now := t0.Add(10 * time.Minute)
	old, recent := t0.Add(time.Minute), now.Add(-10*time.Second)
	store := &fakeStore{acts: []tocsin.Activation{act}, rs: map[string][]tocsin.Recipient{"a1": {
		{Official: official("dieppe", "+33639980001"), Attempts: []tocsin.Attempt{
			{ID: "r0-1", Channel: tocsin.SMS, SID: "SMsent", Status: tocsin.AttemptSent, UpdatedAt: old},
			{ID: "r1-1", Channel: tocsin.Voice, SID: "CAringing", Status: tocsin.AttemptRinging, UpdatedAt: old},
		}},
		{Official: official("eu", "+33639980002"), Attempts: []tocsin.Attempt{
			{ID: "r0-1", Channel: tocsin.SMS, SID: "SMdone", Status: tocsin.AttemptDelivered, UpdatedAt: old}, // final
			{ID: "r0-2", Channel: tocsin.SMS, SID: "SMrecent", Status: tocsin.AttemptQueued, UpdatedAt: recent},
			{ID: "r0-3", Channel: tocsin.SMS, Status: tocsin.AttemptCreated, UpdatedAt: old}, // dispatch's to settle
			{ID: "r0-4", Channel: tocsin.SMS, SID: "SMsame", Status: tocsin.AttemptSent, UpdatedAt: old},
			{ID: "r0-5", Channel: tocsin.SMS, SID: "SMgone", Status: tocsin.AttemptSent, UpdatedAt: old},
		}},
	}}}
	atProvider := map[string]tocsin.ProviderMessage{
		"SMsent":    {SID: "SMsent", Status: tocsin.AttemptDelivered},
		"CAringing": {SID: "CAringing", Status: tocsin.AttemptNoAnswer},
		"SMsame":    {SID: "SMsame", Status: tocsin.AttemptSent},
	}
	var fetched []string
	var mu sync.Mutex
	fetch := func(_ context.Context, sid string) (tocsin.ProviderMessage, error) {
		mu.Lock()
		fetched = append(fetched, sid)
		mu.Unlock()
		pm, ok := atProvider[sid]
		if !ok {
			return pm, errors.New("no such record")
		}
		return pm, nil
	}
	var rec recorder
	r := New(Config{Store: store, Now: func() time.Time { return now }, FetchSMS: fetch, FetchCall: fetch, ApplyStatus: rec.status})
	res, err := r.Pass(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(fetched)
	if want := []string{"CAringing", "SMgone", "SMsame", "SMsent"}; !slices.Equal(fetched, want) {
		t.Errorf("fetched %v, want %v", fetched, want)
	}
	got := map[Ref]bool{}
	for _, ref := range rec.statuses {
		got[ref] = true
	}
	if len(got) != 2 || !got[Ref{"a1", "dieppe", "r0-1"}] || !got[Ref{"a1", "dieppe", "r1-1"}] || res.Statuses != 2 {
		t.Errorf("recorded %v (%d), want dieppe's SMS delivered and call no-answer", rec.statuses, res.Statuses)
	}
	// Read again only an interval later.
	fetched = nil
	if _, err := r.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(fetched) != 0 {
		t.Errorf("second pass fetched %v again within the interval", fetched)
	}
}

func TestAFailedPassIsReportedAndNothingIsApplied(t *testing.T) {
	store := &fakeStore{err: errors.New("etcd: no quorum")}
	var rec recorder
	r := New(Config{Store: store, ApplyReply: rec.reply,
		Replies: func(context.Context, time.Time) ([]tocsin.Inbound, error) { return nil, nil }})
	if _, err := r.Pass(t.Context()); err == nil {
		t.Fatal("pass with the store down: no error")
	}
	if len(rec.replies) != 0 {
		t.Errorf("applied %v with the store down", rec.replies)
	}
}

// Run reconciles at once (a takeover), then as soon as the store answers
// again after an outage, without waiting for the interval.
func TestRunPassesAtOnceAndWhenTheStoreComesBack(t *testing.T) {
	var mu sync.Mutex
	down := false
	passes := make(chan struct{}, 10)
	store := &fakeStore{}
	r := New(Config{
		Store:    passCounter{store, passes},
		Interval: time.Hour,
		Healthy: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if down {
				return errors.New("down")
			}
			return nil
		},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-passes // at once
	mu.Lock()
	down = true
	mu.Unlock()
	// The probe sees the outage, then the store back: a pass follows.
	time.AfterFunc(3*probeEvery, func() { mu.Lock(); down = false; mu.Unlock() })
	select {
	case <-passes:
	case <-time.After(time.Minute):
		t.Fatal("no pass after the store came back")
	}
}

type passCounter struct {
	*fakeStore
	passes chan struct{}
}

func (p passCounter) OpenActivations(ctx context.Context) ([]tocsin.Activation, error) {
	p.passes <- struct{}{}
	return p.fakeStore.OpenActivations(ctx)
}
