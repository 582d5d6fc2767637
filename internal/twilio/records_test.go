package twilio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// Replies are read back from the account's records with the time Twilio
// received each, newest first, those before `since` left out, whatever
// the page size; messages Tocsin sent are not replies.
func TestListRepliesReadsWhatTheAccountReceived(t *testing.T) {
	t0 := time.Date(2026, 4, 30, 23, 50, 0, 0, time.UTC)
	clock := twiliosim.NewManualClock(t0)
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{AccountSID: testSID, AuthToken: testToken, Clock: clock,
		Profile: twiliosim.Profile{
			Default:  twiliosim.Persona{Behaviour: twiliosim.Reply, Reply: "OK bien reçu", Delay: twiliosim.Fixed(time.Minute)},
			Delivery: twiliosim.Fixed(time.Second),
		}})
	sim.LoseWebhooks(true) // nobody to post to: the records alone
	p := simProvider(t, sim.URL(), nil)
	p.pageSize = 2
	ctx := context.Background()
	for _, n := range []string{mayor, deputy} {
		if _, _, err := p.SendSMS(ctx, n, "Alerte", ""); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute) // both reply at 23:51:01, before midnight
	since := clock.Now()
	if _, _, err := p.SendSMS(ctx, "+33639980003", "Alerte", ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute) // this one replies after midnight UTC
	sentAfter := sim.Replies()
	if len(sentAfter) != 3 {
		t.Fatalf("simulator holds %d replies, want 3", len(sentAfter))
	}

	got, err := p.ListReplies(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("ListReplies since the activation = %+v, want the 3 replies", got)
	}
	bySID := map[string]twiliosim.Message{}
	for _, m := range sentAfter {
		bySID[m.SID] = m
	}
	for i, in := range got {
		m, ok := bySID[in.SID]
		if !ok || in.From != m.From || in.Body != "OK bien reçu" || !in.At.Equal(m.DateSent.Truncate(time.Second)) || !in.Recovered {
			t.Errorf("reply %d = %+v, want %s from %s at %v, recovered", i, in, m.SID, m.From, m.DateSent)
		}
		if i > 0 && in.At.After(got[i-1].At) {
			t.Errorf("replies not newest first: %v after %v", in.At, got[i-1].At)
		}
	}
	later, err := p.ListReplies(ctx, since)
	if err != nil || len(later) != 1 || later[0].From != "+33639980003" {
		t.Errorf("ListReplies since %v = %+v, %v; want the one reply after midnight", since, later, err)
	}
}

// A message's current status is read back by its SID; a SID the account
// does not know is ErrNoRecord.
func TestFetchSMSReadsTheCurrentStatus(t *testing.T) {
	clock := twiliosim.NewManualClock(time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC))
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{AccountSID: testSID, AuthToken: testToken, Clock: clock,
		Profile: twiliosim.Profile{Numbers: map[string]twiliosim.Persona{
			mayor:  {Behaviour: twiliosim.Silent},
			deputy: {Behaviour: twiliosim.CarrierFailure, ErrorCode: 30005},
		}, Delivery: twiliosim.Fixed(time.Second)}})
	p := simProvider(t, sim.URL(), nil)
	ctx := context.Background()
	var sids []string
	for _, n := range []string{mayor, deputy} {
		sid, _, err := p.SendSMS(ctx, n, "Alerte", "")
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, sid)
	}
	clock.Advance(5 * time.Second)
	want := []tocsin.ProviderMessage{{SID: sids[0], Status: tocsin.AttemptDelivered}, {SID: sids[1], Status: tocsin.AttemptUndelivered, ErrorCode: 30005}}
	for _, w := range want {
		got, err := p.FetchSMS(ctx, w.SID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SID != w.SID || got.Status != w.Status || got.ErrorCode != w.ErrorCode {
			t.Errorf("FetchSMS(%s) = %+v, want status %s, error %d", w.SID, got, w.Status, w.ErrorCode)
		}
	}
	if _, err := p.FetchSMS(ctx, "SM00000000000000000000000000000000"); !errors.Is(err, ErrNoRecord) {
		t.Errorf("FetchSMS of an unknown SID: %v, want ErrNoRecord", err)
	}
}

// The replies of a large activation are listed whole: more than the 200
// pages a listing allows at Twilio's default page size of 50.
func TestListRepliesOfALargeActivation(t *testing.T) {
	t0 := time.Date(2026, 4, 30, 10, 0, 0, 0, time.UTC)
	clock := twiliosim.NewManualClock(t0)
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{AccountSID: testSID, AuthToken: testToken, Clock: clock,
		Profile: twiliosim.Profile{
			Default:  twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(time.Minute)},
			Delivery: twiliosim.Fixed(time.Second),
		}})
	sim.LoseWebhooks(true)
	p := simProvider(t, sim.URL(), nil)
	const n = 200*50 + 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if _, _, err := p.SendSMS(t.Context(), fmt.Sprintf("+3363%07d", i), "Alerte", ""); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	got, err := p.ListReplies(t.Context(), t0)
	if err != nil || len(got) != n {
		t.Fatalf("ListReplies: %d replies, %v; want %d", len(got), err, n)
	}
}
