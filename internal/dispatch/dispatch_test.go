package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twilio"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// harness is a real etcd, the simulator over HTTP and the Twilio provider
// through twilio-go: dispatch with nothing faked.
type harness struct {
	store *etcd.Store
	sim   *twiliosim.Server
	sms   *twilio.Provider
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{
		Profile: twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}},
	})
	p, err := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(),
		From: "+33639980000", APIURL: sim.URL(), Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{store: testingutil.MustStore(t), sim: sim, sms: p}
}

// nowhere gives webhook URLs that no server answers: these tests read the
// store, not the callbacks.
type nowhere struct{}

func (nowhere) SMSStatus(a, o, t string) string {
	return "http://127.0.0.1:1/sms?a=" + a + "&o=" + o + "&t=" + t
}
func (nowhere) CallStatus(a, o, t string) string {
	return "http://127.0.0.1:1/call?a=" + a + "&o=" + o + "&t=" + t
}
func (nowhere) TwiML(a, o, t string) string {
	return "http://127.0.0.1:1/twiml?a=" + a + "&o=" + o + "&t=" + t
}

func number(i int) string { return fmt.Sprintf("+3363998%04d", i) }

// activate stores an open activation of n officials with the default ladder.
func (h *harness) activate(t *testing.T, n int) *tocsin.Activation {
	t.Helper()
	now := time.Now().UTC()
	a := &tocsin.Activation{ID: fmt.Sprintf("act-%d", now.UnixNano()), Title: "Test", State: tocsin.Open,
		ActivatedAt: now, Deadline: now.Add(time.Hour), Ladder: tocsin.DefaultLadder, Targeted: n}
	rs := make([]tocsin.Recipient, n)
	for i := range rs {
		rs[i] = tocsin.Recipient{
			Official: tocsin.Official{ID: fmt.Sprintf("o%04d", i+1), Numbers: []tocsin.Number{{E164: number(i + 1), Kind: tocsin.Mobile}}},
			Message:  fmt.Sprintf("Alerte de test pour o%04d", i+1),
			Status:   tocsin.StatusPending,
		}
	}
	if err := h.store.CreateActivation(context.Background(), a, rs, tocsin.Event{Kind: tocsin.EventActivated}); err != nil {
		t.Fatal(err)
	}
	return a
}

// lead runs a dispatcher under a fresh leadership until the test ends or
// stop is called; done receives Run's result.
func (h *harness) lead(t *testing.T, rate float64) (stop func(), done <-chan error) {
	t.Helper()
	_, stop, done = h.run(t, rate)
	return stop, done
}

// leadWith is lead returning the dispatcher.
func (h *harness) leadWith(t *testing.T, rate float64) *dispatch.Dispatcher {
	t.Helper()
	d, _, _ := h.run(t, rate)
	return d
}

func (h *harness) run(t *testing.T, rate float64) (d *dispatch.Dispatcher, stop func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := h.store.Campaign(ctx, "test", 2)
	if err != nil {
		t.Fatal(err)
	}
	d = dispatch.New(dispatch.Config{SMS: h.sms, Rates: tocsin.Rates{SMSPerSecond: rate}, RetryBase: 20 * time.Millisecond, URLs: nowhere{}})
	ch := make(chan error, 1)
	go func() { ch <- d.Run(ctx, l.Store) }()
	stop = func() {
		cancel()
		<-ch
		l.Resign(context.Background())
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return d, stop, ch
}

func (h *harness) waitAttempt(t *testing.T, act, official string, what string, cond func(at tocsin.Attempt) bool) tocsin.Recipient {
	t.Helper()
	var r *tocsin.Recipient
	testingutil.Eventually(t, 10*time.Second, official+": "+what, func() bool {
		var err error
		if r, err = h.store.Recipient(context.Background(), act, official); err != nil {
			t.Fatal(err)
		}
		return len(r.Attempts) > 0 && cond(r.Attempts[0])
	})
	return *r
}

// idle waits until the dispatcher has nothing queued and nothing under
// way: past it, whatever it was going to send is sent.
func idle(t *testing.T, d *dispatch.Dispatcher) {
	t.Helper()
	testingutil.Eventually(t, 10*time.Second, "dispatch idle", d.Idle)
}

func sentTo(sim *twiliosim.Server, n string) int { return len(testingutil.Outbound(sim, n)) }

func hasSID(at tocsin.Attempt) bool { return at.SID != "" }

// The provider created the message but answered 500: dispatch must find
// it in the provider's records and not send it again.
func TestServerErrorAfterCreateIsReconciledNotResent(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.InjectFault(twiliosim.Fault{Status: http.StatusInternalServerError, AfterCreate: true, Resource: twiliosim.ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	a := h.activate(t, 1)
	d := h.leadWith(t, 100)
	r := h.waitAttempt(t, a.ID, "o0001", "a SID", hasSID)
	at := r.Attempts[0]
	if at.Tries != 1 || !at.Status.Accepted() {
		t.Errorf("attempt: tries %d status %s; want 1 try, accepted", at.Tries, at.Status)
	}
	idle(t, d)
	testingutil.ExpectSMSCounts(t, h.sim, map[string]int{number(1): 1})
	if m, ok := h.sim.Message(at.SID); !ok || m.To != number(1) {
		t.Errorf("attempt SID %s is not the simulator's message to %s", at.SID, number(1))
	}
}

// The provider failed before creating the message: proven not sent, so
// sent again, once.
func TestServerErrorBeforeCreateIsResentOnce(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.InjectFault(twiliosim.Fault{Status: http.StatusServiceUnavailable, Resource: twiliosim.ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	a := h.activate(t, 1)
	d := h.leadWith(t, 100)
	r := h.waitAttempt(t, a.ID, "o0001", "a SID", hasSID)
	if r.Attempts[0].Tries != 2 {
		t.Errorf("tries: got %d, want 2 (one refused, one sent)", r.Attempts[0].Tries)
	}
	idle(t, d)
	testingutil.ExpectSMSCounts(t, h.sim, map[string]int{number(1): 1})
}

func TestRateLimitedIsRetried(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.InjectFault(twiliosim.Fault{Status: http.StatusTooManyRequests, Count: 3, Resource: twiliosim.ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	a := h.activate(t, 3)
	h.lead(t, 100)
	for i := 1; i <= 3; i++ {
		h.waitAttempt(t, a.ID, fmt.Sprintf("o%04d", i), "a SID", hasSID)
	}
	for i := 1; i <= 3; i++ {
		if n := sentTo(h.sim, number(i)); n != 1 {
			t.Errorf("%s got %d SMS, want exactly 1", number(i), n)
		}
	}
}

// A leader crashed between writing the attempt and recording the SID. The
// next leader settles it from the provider's records: sent once, whether or
// not the message had gone out.
func TestTakeoverSettlesAttemptsLeftWithoutSID(t *testing.T) {
	h := newHarness(t)
	a := h.activate(t, 2)
	ctx := context.Background()
	// Both attempts were written as "about to call the provider"…
	for _, o := range []string{"o0001", "o0002"} {
		_, err := h.store.UpdateRecipient(ctx, a.ID, o, func(act *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			due, _ := act.Plan(r, time.Now())
			at := due[0]
			at.Tries, at.CreatedAt = 1, time.Now().UTC()
			r.Attempts = append(r.Attempts, at)
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// …and only the first call reached the provider before the crash.
	r1, _ := h.store.Recipient(ctx, a.ID, "o0001")
	if _, _, err := h.sms.SendSMS(ctx, number(1), r1.Message, ""); err != nil {
		t.Fatal(err)
	}
	d := h.leadWith(t, 100)
	for _, o := range []string{"o0001", "o0002"} {
		h.waitAttempt(t, a.ID, o, "a SID", hasSID)
	}
	idle(t, d)
	testingutil.ExpectSMSCounts(t, h.sim, map[string]int{number(1): 1, number(2): 1})
	r1, _ = h.store.Recipient(ctx, a.ID, "o0001")
	if r1.Attempts[0].Tries != 1 {
		t.Errorf("o0001: tries %d, want 1 (found at the provider, not resent)", r1.Attempts[0].Tries)
	}
}

// Once another replica leads, the deposed leader's next write fails and
// its dispatch stops: it sends nothing more.
func TestDeposedLeaderStopsDispatching(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	l, err := h.store.Campaign(ctx, "old", 2)
	if err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(dispatch.Config{SMS: h.sms, Rates: tocsin.Rates{SMSPerSecond: 5}, URLs: nowhere{}})
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, l.Store) }()
	const n = 200 // 40 s of work at 5/s: the deposition comes mid-way
	a := h.activate(t, n)
	h.waitAttempt(t, a.ID, "o0001", "a SID", hasSID)
	// Steal the leadership: delete the leader key, as an operator or a lease
	// expiry would. The fence alone must stop the old leader.
	if _, err := h.store.Client().Delete(ctx, "/test/leader/", clientv3WithPrefix()...); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, tocsin.ErrNotLeader) {
			t.Fatalf("Run: %v, want ErrNotLeader", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("deposed leader still dispatching after 5 s")
	}
	select {
	case <-l.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("leadership not reported lost after its key was deleted")
	}
	// Run returned once every worker had ended: nothing can be sent after.
	if sent := len(h.sim.Messages()); sent >= n {
		t.Errorf("messages: %d of %d; want the deposed leader stopped before the end", sent, n)
	}
}

// The provider accepts 20 SMS a second while dispatch may send 50: its
// 429s slow dispatch down to about what it accepts, and every official is
// still texted exactly once.
func TestRateLimitedSlowsTheChannelDown(t *testing.T) {
	h := newHarness(t)
	h.sim.SetRateLimits(20, 0)
	a := h.activate(t, 60)
	d := h.leadWith(t, 50)
	for i := 1; i <= 60; i++ {
		h.waitAttempt(t, a.ID, fmt.Sprintf("o%04d", i), "a SID", hasSID)
	}
	for i := 1; i <= 60; i++ {
		if n := sentTo(h.sim, number(i)); n != 1 {
			t.Errorf("%s got %d SMS, want exactly 1", number(i), n)
		}
	}
	if h.sim.Stats().RateLimited == 0 {
		t.Fatal("the simulator refused nothing: the test does not test")
	}
	p := d.Pace()[tocsin.SMS]
	if p.Ceiling != 50 || p.PerSecond >= 50 || !p.Limited {
		t.Errorf("pace after 429s: %+v, want below the ceiling of 50 and limited", p)
	}
}

// A message that Twilio reports failed for a queue overflow (30001), in a
// status callback, slows the channel down like a 429.
func TestQueueOverflowSlowsTheChannelDown(t *testing.T) {
	h := newHarness(t)
	a := h.activate(t, 1)
	d := h.leadWith(t, 50)
	h.waitAttempt(t, a.ID, "o0001", "a SID", hasSID)
	if _, err := h.store.UpdateRecipient(context.Background(), a.ID, "o0001", func(_ *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
		r.Attempts[0].Status, r.Attempts[0].ErrorCode = tocsin.AttemptUndelivered, 30001
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	testingutil.Eventually(t, 10*time.Second, "the pace limited after a queue overflow", func() bool { return d.Pace()[tocsin.SMS].Limited })
}

// secondary starts a second account (another simulator) for a secondary
// route.
func (h *harness) secondary(t *testing.T) (*twiliosim.Server, *twilio.Provider) {
	t.Helper()
	sim := testingutil.MustStartSimulator(t, twiliosim.Config{
		AccountSID: "AC00000000000000000000000000000002", AuthToken: "secondarytoken000000000000000002",
		Profile: twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}},
	})
	p, err := twilio.New(twilio.Config{AccountSID: sim.AccountSID(), AuthToken: sim.AuthToken(),
		From: "+33639980099", APIURL: sim.URL(), Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sim, p
}

// leadTwoRoutes dispatches over the primary and second; ping checks the
// primary.
func (h *harness) leadTwoRoutes(t *testing.T, second *twilio.Provider, ping func(context.Context) error, changed func(from, to, why string)) *dispatch.Dispatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l, err := h.store.Campaign(ctx, "test", 2)
	if err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(dispatch.Config{SMS: h.sms, Rates: tocsin.Rates{SMSPerSecond: 100}, RetryBase: 20 * time.Millisecond, URLs: nowhere{},
		Ping: ping, Secondary: &dispatch.Route{SMS: second, Ping: second.Ping}, FailoverAfter: 300 * time.Millisecond, RouteChanged: changed})
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, l.Store) }()
	t.Cleanup(func() { cancel(); <-done; l.Resign(context.Background()) })
	return d
}

// The primary account creates every message but answers 500: dispatch
// cannot know they went out. After the failover delay the secondary takes
// over; the messages of unknown outcome are found in the primary's records
// and not sent again. Every official gets exactly one SMS across both
// accounts, and each attempt says which route it took.
func TestPrimaryFailingHandsOverToTheSecondaryNobodyTextedTwice(t *testing.T) {
	h := newHarness(t)
	sim2, second := h.secondary(t)
	if err := h.sim.InjectFault(twiliosim.Fault{Status: http.StatusInternalServerError, AfterCreate: true, Count: 1000, Resource: twiliosim.ResourceMessages}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var switches []string
	a := h.activate(t, 40)
	// The account is failing for as long as the test runs: its checks
	// fail too, so that dispatch, however slow the machine, does not take
	// it back half-way (a primary that answers its checks and fails its
	// sends would be taken back at each check, then left again).
	failing := func(context.Context) error { return errors.New("primary account failing") }
	h.leadTwoRoutes(t, second, failing, func(from, to, why string) {
		mu.Lock()
		switches = append(switches, from+"→"+to)
		mu.Unlock()
	})
	for i := 1; i <= 40; i++ {
		h.waitAttempt(t, a.ID, fmt.Sprintf("o%04d", i), "a SID", hasSID)
	}
	onSecondary := 0
	for i := 1; i <= 40; i++ {
		n1, n2 := sentTo(h.sim, number(i)), sentTo(sim2, number(i))
		if n1+n2 != 1 {
			t.Errorf("%s got %d SMS on the primary and %d on the secondary, want exactly 1 in all", number(i), n1, n2)
		}
		r, err := h.store.Recipient(context.Background(), a.ID, fmt.Sprintf("o%04d", i))
		if err != nil {
			t.Fatal(err)
		}
		at := r.Attempts[0]
		if want := map[bool]string{true: "secondary", false: ""}[n2 == 1]; at.Route != want {
			t.Errorf("%s: attempt recorded on route %q, sent on the secondary: %v", number(i), at.Route, n2 == 1)
		}
		if n2 == 1 {
			onSecondary++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(switches) != 1 || switches[0] != "primary→secondary" || onSecondary == 0 {
		t.Errorf("route changes %v, %d sent on the secondary; want one change to the secondary, which sent the rest", switches, onSecondary)
	}
}
