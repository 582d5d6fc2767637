package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// noActivity knows no activation: the hub sends no counters.
type noActivity struct{}

func (noActivity) Revision(context.Context) (int64, error) { return 0, nil }
func (noActivity) Activation(_ context.Context, id string) (*tocsin.Activation, error) {
	return nil, tocsin.Errorf(tocsin.ENotFound, "activation %s introuvable", id)
}
func (noActivity) RecipientsRev(context.Context, string) ([]tocsin.Recipient, int64, error) {
	return nil, 0, nil
}

func testHub(buffer int) *hub {
	return newHub(&Config{Live: LiveConfig{Buffer: buffer}, Activity: noActivity{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func eventChange(rev int64) []Change {
	return []Change{{Rev: rev, Activation: "a1", Event: &tocsin.Event{Seq: fmt.Sprintf("%05d", rev), Kind: tocsin.EventStatus, Detail: "SMS distribué"}}}
}

func newTestClient(topic string, buffer int) *client {
	return &client{topic: topic, send: make(chan []byte, buffer), done: make(chan struct{})}
}

// A client that reads nothing fills its queue and is dropped; the hub
// never waits for it, and the others get every message.
func TestSlowClientIsDroppedWithoutBlockingOthers(t *testing.T) {
	h := testHub(4)
	// The fast client drains its queue as the page would; a queue as long as
	// the burst keeps the test independent of the scheduler.
	slow, fast, other := newTestClient("a1", 4), newTestClient("a1", 100), newTestClient("a2", 4)
	for _, c := range []*client{slow, fast, other} {
		if _, ok := h.register(c, 0); !ok {
			t.Fatal("register refused")
		}
	}
	var got int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-fast.send:
				got++
				if got == 100 {
					return
				}
			case <-time.After(2 * time.Second):
				return
			}
		}
	}()
	start := time.Now()
	for rev := int64(1); rev <= 100; rev++ {
		h.broadcast(eventChange(rev))
		if rev%10 == 0 {
			time.Sleep(time.Millisecond) // let the fast reader keep up
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100 broadcasts took %s: the hub waited for a client", d)
	}
	wg.Wait()
	select {
	case <-slow.done:
		if slow.reason != closeTooSlow {
			t.Errorf("slow client closed for %v; want closeTooSlow", slow.reason)
		}
	default:
		t.Errorf("the slow client is still connected")
	}
	if got != 100 {
		t.Errorf("the fast client got %d messages; want all 100", got)
	}
	if len(other.send) != 0 {
		t.Errorf("a client of another activation got %d messages; want none", len(other.send))
	}
	h.mu.Lock()
	_, stillSlow := h.clients[slow]
	_, stillFast := h.clients[fast]
	h.mu.Unlock()
	if stillSlow || !stillFast {
		t.Errorf("registered: slow %v, fast %v; want only the fast one", stillSlow, stillFast)
	}
}

// A client catching up gets the replay first, then what the hub held for
// it, with no revision twice.
func TestCatchUpJoinsTheLiveFeed(t *testing.T) {
	history := make([][]Change, 0)
	for rev := int64(1); rev <= 10; rev++ {
		history = append(history, eventChange(rev))
	}
	h := testHub(64)
	h.watch = func(ctx context.Context, after int64, _ func(string) bool, fn func([]Change)) error {
		for _, cs := range history {
			if cs[0].Rev > after {
				fn(cs)
			}
		}
		<-ctx.Done()
		return ctx.Err()
	}
	h.rev = 6 // the hub has fed everything up to 6
	c := newTestClient("a1", 64)
	upto, _ := h.register(c, 3)
	if !c.catchingUp || upto != 6 {
		t.Fatalf("register from 3 at 6: catching up %v, upto %d", c.catchingUp, upto)
	}
	// While the client catches up, the hub's feed goes on: 7 and 8.
	h.broadcast(eventChange(7))
	h.broadcast(eventChange(8))
	if err := h.catchUp(t.Context(), c, 3, upto); err != nil {
		t.Fatal(err)
	}
	h.broadcast(eventChange(9))
	var seqs []string
	for len(c.send) > 0 {
		data := <-c.send
		seqs = append(seqs, string(data))
	}
	want := []int64{4, 5, 6, 7, 8, 9}
	if len(seqs) != len(want) {
		t.Fatalf("got %d messages, want revisions %v:\n%v", len(seqs), want, seqs)
	}
	for i, rev := range want {
		if s := fmt.Sprintf(`"rev":%d,`, rev); !contains(seqs[i], s) {
			t.Errorf("message %d: %s; want revision %d", i, seqs[i], rev)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// The watch leaves undecoded the changes of activations nobody follows.
// A client that comes for one of them while such a change is on its way
// to the hub must still get it.
func TestClientComingWhileAnUndecodedChangeIsOnItsWayGetsIt(t *testing.T) {
	h := testHub(16)
	if h.followed("a1") {
		t.Fatal("a1 followed before any client")
	}
	ev := tocsin.Event{Seq: "00001", Kind: tocsin.EventStatus, Detail: "SMS distribué"}
	raw, _ := json.Marshal(ev)
	undecoded := []Change{{Rev: 1, Activation: "a1", Kind: "evt", Raw: raw}}
	c := newTestClient("a1", 16)
	if _, ok := h.register(c, 0); !ok {
		t.Fatal("register refused")
	}
	if !h.followed("a1") {
		t.Fatal("a1 not followed with a client")
	}
	h.broadcast(undecoded)
	select {
	case data := <-c.send:
		if !strings.Contains(string(data), "SMS distribué") {
			t.Errorf("got %s; want the event", data)
		}
	default:
		t.Fatal("the client got nothing")
	}
	h.unregister(c)
	if h.followed("a1") {
		t.Error("a1 still followed after its client left")
	}
}

// bigActivity is an open activation of three officials whose
// recipients it counts the reads of.
type bigActivity struct {
	noActivity
	reads atomic.Int32
}

func (s *bigActivity) Activation(_ context.Context, id string) (*tocsin.Activation, error) {
	return &tocsin.Activation{ID: id, State: tocsin.Open, Targeted: 3}, nil
}

func (s *bigActivity) RecipientsRev(context.Context, string) ([]tocsin.Recipient, int64, error) {
	s.reads.Add(1)
	rs := []tocsin.Recipient{{Official: tocsin.Official{ID: "o1"}}, {Official: tocsin.Official{ID: "o2"}}, {Official: tocsin.Official{ID: "o3"}}}
	return rs, 10, nil
}

// Counters count every recipient: an activation that changes all the time
// and takes long to count is recomputed less often, so that a console
// open on 35,000 officials does not keep a core busy; its recipients are
// read from the store once.
func TestCountersOfALargeActivationAreRecomputedLessOften(t *testing.T) {
	act := &bigActivity{}
	var counts atomic.Int32
	slowCount := func(context.Context, *tocsin.Activation, []tocsin.Recipient) bool {
		counts.Add(1)
		time.Sleep(40 * time.Millisecond)
		return false
	}
	h := newHub(&Config{Live: LiveConfig{Buffer: 1024, SummaryEvery: 10 * time.Millisecond}, Activity: act, MissesDeadline: slowCount},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	c := newTestClient(dashboardTopic, 1024)
	if _, ok := h.register(c, 0); !ok {
		t.Fatal("register refused")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { h.summaries(ctx); close(done) }()
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		h.dirty["big"] = true
		h.mu.Unlock()
	}
	cancel()
	<-done
	// Every 10 ms + 40 ms would make about 20; waiting 9 × 40 ms after
	// each, at most 3 fit in the second.
	if n := counts.Load(); n < 1 || n > 4 {
		t.Errorf("counters computed %d times in a second; want 1 to 4", n)
	}
	if n := act.reads.Load(); n != 1 {
		t.Errorf("recipients read %d times; want once, then kept from the watch", n)
	}
	if len(c.send) == 0 {
		t.Error("the dashboard got no counters")
	}
}

// The counters follow the watch's changes without reading the store
// again: a change after the read counts, one the read already had does
// not count twice, and one that comes while the counters are being
// computed waits for the next computation.
func TestCountersFollowTheWatchWithoutReadingAgain(t *testing.T) {
	act := &bigActivity{}
	h := newHub(&Config{Activity: act}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c := newTestClient("big", 16)
	if _, ok := h.register(c, 0); !ok {
		t.Fatal("register refused")
	}
	informed := func(rev int64, id string) Change {
		at := time.Now()
		return Change{Rev: rev, Activation: "big", Recipient: &tocsin.Recipient{Official: tocsin.Official{ID: id}, Status: tocsin.StatusInformed, InformedAt: &at}}
	}
	count := func() counters {
		t.Helper()
		f, _, ok := h.summary(t.Context(), "big")
		if !ok {
			t.Fatal("no summary")
		}
		var m liveMsg
		if err := json.Unmarshal(f.data, &m); err != nil || m.Counters == nil {
			t.Fatalf("summary %s: %v", f.data, err)
		}
		return *m.Counters
	}
	if got := count(); got.Informed != 0 || got.Targeted != 3 {
		t.Fatalf("first counters %+v; want 0 informed of 3", got)
	}
	h.broadcast([]Change{informed(9, "o1")})  // before the read: already in it
	h.broadcast([]Change{informed(11, "o2")}) // after it
	if got := count(); got.Informed != 1 {
		t.Fatalf("counters %+v after o2 was informed; want 1 informed (o1's change was older than the read)", got)
	}
	// A change while the counters are computed waits for the next ones.
	var during counters
	err := h.withRoster(t.Context(), "big", func(rs []tocsin.Recipient) {
		h.broadcast([]Change{informed(12, "o3")})
		during = newCounters(&tocsin.Activation{State: tocsin.Open}, rs, time.Now())
	})
	if err != nil || during.Informed != 1 {
		t.Fatalf("counted %+v (%v) while o3's change came; want it unchanged, 1 informed", during, err)
	}
	if got := count(); got.Informed != 2 {
		t.Fatalf("counters %+v after o3; want 2 informed", got)
	}
	// A change the watch left undecoded (nobody follows the activation's
	// rows, only its counters) counts too.
	raw, err := json.Marshal(informed(13, "o1").Recipient)
	if err != nil {
		t.Fatal(err)
	}
	h.broadcast([]Change{{Rev: 13, Activation: "big", Kind: "rcpt", Raw: raw}})
	if got := count(); got.Informed != 3 {
		t.Fatalf("counters %+v after o1's undecoded change; want 3 informed", got)
	}
	if n := act.reads.Load(); n != 1 {
		t.Errorf("recipients read %d times; want once", n)
	}
}

// A summary says whether the forecast misses the hour, and the last one of
// each open activation is what a page that connects starts from (a
// snapshot): its alerts compare with it.
func TestSummariesSayLateAndNewClientsStartFromTheLast(t *testing.T) {
	h := newHub(&Config{Live: LiveConfig{Buffer: 16, SummaryEvery: 5 * time.Millisecond}, Activity: &openActivity{},
		MissesDeadline: func(context.Context, *tocsin.Activation, []tocsin.Recipient) bool { return true }},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	first := newTestClient(dashboardTopic, 16)
	if _, ok := h.register(first, 0); !ok {
		t.Fatal("register refused")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go h.summaries(ctx)
	h.mu.Lock()
	h.dirty["a1"] = true
	h.mu.Unlock()
	var m liveMsg
	select {
	case data := <-first.send:
		json.Unmarshal(data, &m)
	case <-time.After(10 * time.Second):
		t.Fatal("no summary")
	}
	if m.Type != "summary" || !m.Late || m.Snapshot || m.Deadline == "" {
		t.Errorf("summary %+v; want late, with its deadline, not a snapshot", m)
	}
	later := newTestClient(dashboardTopic, 16)
	if _, ok := h.register(later, 0); !ok {
		t.Fatal("register refused")
	}
	select {
	case data := <-later.send:
		m = liveMsg{}
		json.Unmarshal(data, &m)
		if !m.Snapshot || m.Activation != "a1" || !m.Late {
			t.Errorf("a page that connects starts from %+v; want a1's last summary as a snapshot", m)
		}
	default:
		t.Error("a page that connects gets no snapshot")
	}
}

// openActivity is one open activation of one official, an hour long.
type openActivity struct{ noActivity }

func (openActivity) Activation(_ context.Context, id string) (*tocsin.Activation, error) {
	now := time.Now()
	return &tocsin.Activation{ID: id, State: tocsin.Open, ActivatedAt: now, Deadline: now.Add(time.Hour), Targeted: 1}, nil
}

func (openActivity) Recipients(context.Context, string) ([]tocsin.Recipient, error) {
	return []tocsin.Recipient{{Official: tocsin.Official{ID: "o1"}}}, nil
}

// inboxActivity is an open activation with replies to handle.
type inboxActivity struct {
	noActivity
	toHandle int
	err      error
}

func (inboxActivity) Activation(_ context.Context, id string) (*tocsin.Activation, error) {
	return &tocsin.Activation{ID: id, State: tocsin.Open}, nil
}

func (a inboxActivity) RepliesToHandle(context.Context, string) (int, error) {
	return a.toHandle, a.err
}

// The summaries, which the dashboard follows, carry the replies to
// handle when the store counts them; a store that does not counts none;
// one that fails sends no summary rather than a count of 0.
func TestSummariesCarryTheRepliesToHandle(t *testing.T) {
	for _, c := range []struct {
		name     string
		activity Activity
		want     int
	}{{"counted", inboxActivity{toHandle: 3}, 3}, {"not counted", &bigActivity{}, 0}, {"store down", inboxActivity{err: errors.New("etcd")}, -1}} {
		t.Run(c.name, func(t *testing.T) {
			h := newHub(&Config{Activity: c.activity}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			f, _, ok := h.summary(t.Context(), "a1")
			if c.want < 0 {
				if ok {
					t.Errorf("summary %s while the store cannot count; want none, the consoles keeping the last", f.data)
				}
				return
			}
			if !ok || !f.matches(dashboardTopic) {
				t.Fatalf("no summary for the dashboard (%v)", ok)
			}
			var m liveMsg
			if err := json.Unmarshal(f.data, &m); err != nil || m.Counters == nil || m.Counters.Inbox != c.want {
				t.Errorf("summary %s (%v); want %d replies to handle", f.data, err, c.want)
			}
		})
	}
}

// followUpActivity is an open activation with a follow-up message taken
// by the provider for one of its two officials.
type followUpActivity struct{ noActivity }

func (followUpActivity) Activation(_ context.Context, id string) (*tocsin.Activation, error) {
	return &tocsin.Activation{ID: id, State: tocsin.Open, Messages: []tocsin.FollowUp{{N: 1, Text: "Fin d'alerte."}}}, nil
}

func (followUpActivity) RecipientsRev(context.Context, string) ([]tocsin.Recipient, int64, error) {
	sent := tocsin.NewNotice(tocsin.NoticeMessage, "m1", "+33639980001", "Fin d'alerte.")
	sent.Status, sent.SID = tocsin.AttemptSent, "SM1"
	return []tocsin.Recipient{{Official: tocsin.Official{ID: "o1"}, Notices: []tocsin.Attempt{sent}}, {Official: tocsin.Official{ID: "o2"}}}, 1, nil
}

// The summaries say how many officials each follow-up message went to,
// so that the page follows it live.
func TestSummariesCarryTheFollowUpsProgress(t *testing.T) {
	h := newHub(&Config{Activity: followUpActivity{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f, _, ok := h.summary(t.Context(), "a1")
	if !ok {
		t.Fatal("no summary")
	}
	var m liveMsg
	if err := json.Unmarshal(f.data, &m); err != nil || m.Counters == nil || m.Counters.Messages[1] != 1 {
		t.Errorf("summary %s (%v); want follow-up 1 taken for 1 official", f.data, err)
	}
}
