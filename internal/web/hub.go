package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// The live console. Each replica runs one hub: it watches the store's
// activity (activations, recipients, timelines) from etcd and pushes every
// change to its websocket clients, so that the console is live whichever
// replica serves it.
//
//   - The hub never waits for a client: each has a bounded queue, filled
//     without blocking; a client whose queue is full is dropped (it
//     reconnects and catches up), never the hub.
//   - Every message that comes from a change carries the change's etcd
//     revision. A client reconnects with the last revision it saw; the
//     server replays what it missed from etcd's history (a watch from that
//     revision) before the live feed, so nothing is missed and nothing is
//     replayed out of order. If etcd has compacted that history, the
//     client is told to reload the page.
//   - Counters need every recipient: the hub reads an activation's
//     recipients once, keeps them up to date from the same watch (a
//     roster), and recomputes the counters of the activations that changed
//     at most every few hundred milliseconds, without reading etcd again.

// KindCIP is the Kind of a Change to an activation's CIP: its cell, a
// call to its public line, an operator's desk. It carries no record.
const KindCIP = "cip"

// Change is one write to an activation, its recipients, its timeline or
// its CIP.
// At most one of Record, Recipient and Event is set: none for a recipient
// or an event of an activation nobody follows (see WatchFunc).
type Change struct {
	Rev        int64 // the store revision of the write
	Activation string
	Record     *tocsin.Activation
	Recipient  *tocsin.Recipient
	Event      *tocsin.Event
	// Kind ("rcpt" or "evt") and Raw hold a change left undecoded.
	Kind string
	Raw  []byte
}

// decode decodes a change the watch left undecoded; false if it cannot.
func (c *Change) decode() bool {
	var err error
	switch c.Kind {
	case "rcpt":
		c.Recipient = new(tocsin.Recipient)
		err = json.Unmarshal(c.Raw, c.Recipient)
	case "evt":
		c.Event = new(tocsin.Event)
		err = json.Unmarshal(c.Raw, c.Event)
	default:
		return false
	}
	return err == nil
}

// ErrCompacted is what a Watch returns when the revision it should start
// from is no longer in the store's history.
var ErrCompacted = errors.New("revision compacted")

// WatchFunc calls fn with every change made after revision after, in
// revision order, until ctx ends or the watch fails; after 0 means from
// now. want, when not nil, says which activations' recipients and events
// to decode: those of the others come undecoded.
type WatchFunc func(ctx context.Context, after int64, want func(activation string) bool, fn func(cs []Change)) error

// Activity reads what the live counters need.
type Activity interface {
	// Revision returns the store's current revision.
	Revision(ctx context.Context) (int64, error)
	Activation(ctx context.Context, id string) (*tocsin.Activation, error)
	// RecipientsRev returns an activation's recipients and the store
	// revision they were read at.
	RecipientsRev(ctx context.Context, id string) ([]tocsin.Recipient, int64, error)
}

// InboxCounter is an Activity that also counts the replies an
// activation has to handle: the summaries, and so the dashboard, carry
// that count when the Activity is one.
type InboxCounter interface {
	RepliesToHandle(ctx context.Context, activation string) (int, error)
}

// inboxCount returns the replies id has to handle, 0 when a counts none.
func inboxCount(ctx context.Context, a Activity, id string) (int, error) {
	if ic, ok := a.(InboxCounter); ok {
		return ic.RepliesToHandle(ctx, id)
	}
	return 0, nil
}

// LiveConfig tunes the websocket feed; zero values take the defaults.
type LiveConfig struct {
	Buffer       int           // messages queued for a client before it is dropped; default 256
	PingEvery    time.Duration // keepalive ping, and session check; default 25 s
	WriteTimeout time.Duration // one frame's write deadline; default 10 s
	SummaryEvery time.Duration // how often changed counters are recomputed; default 300 ms
}

func (l *LiveConfig) defaults() {
	if l.Buffer <= 0 {
		l.Buffer = 256
	}
	if l.PingEvery <= 0 {
		l.PingEvery = 25 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
	if l.SummaryEvery <= 0 {
		l.SummaryEvery = 300 * time.Millisecond
	}
}

// dashboardTopic is the topic of clients that follow every activation's
// counters, not one activation's details.
const dashboardTopic = "tableau"

// liveMsg is one websocket frame, as JSON.
type liveMsg struct {
	Type       string     `json:"type"` // activation, recipient, event, summary
	Rev        int64      `json:"rev,omitempty"`
	Activation string     `json:"activation"`
	State      string     `json:"state,omitempty"`
	Row        *row       `json:"row,omitempty"`
	Event      *liveEvent `json:"event,omitempty"`
	Counters   *counters  `json:"counters,omitempty"`
	Title      string     `json:"title,omitempty"`
	// Deadline (RFC 3339) comes with a summary: every page warns at
	// fifteen minutes from it while officials are not informed.
	Deadline string `json:"deadline,omitempty"`
	// Snapshot marks a summary sent to a client as it connects: the state
	// its alerts start from, not a change.
	Snapshot bool `json:"snapshot,omitempty"`
	// Late is set on the summary of an open activation whose forecast, at
	// the rates the provider allows now, misses the hour.
	Late bool `json:"late,omitempty"`
}

// liveEvent is a timeline entry as the page shows it.
type liveEvent struct {
	Seq    string `json:"seq"`
	At     string `json:"at"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	// A reply that did not acknowledge also goes to the page's inbox.
	Name    string `json:"name,omitempty"`
	Text    string `json:"text,omitempty"`
	Concern string `json:"concern,omitempty"`
}

// newLiveEvent words an event for the timeline. An event about one
// official whose detail does not name them (a delivery status, an attempt)
// is prefixed with their name, when known.
func newLiveEvent(e *tocsin.Event, names map[string]string, now time.Time) *liveEvent {
	detail := withErrorMeanings(e.Detail)
	if name := names[e.Official]; name != "" && !strings.Contains(detail, name) {
		detail = name + " — " + detail
	}
	le := &liveEvent{Seq: e.Seq, At: parisClock(e.At, now), Kind: e.Kind, Detail: detail}
	if e.Kind == tocsin.EventReply {
		// For the page's inbox: who, what, and what it is about.
		le.Name, le.Text, le.Concern = names[e.Official], e.Text, tocsin.ReplyConcern(e.Text)
		if le.Name == "" {
			le.Name = e.Official
		}
	}
	return le
}

// providerCode finds a provider's error code in an event's detail, with
// the reason's label dispatch may put before it: « (code 30003) »,
// « (invalid_number, code 21211) ».
var providerCode = regexp.MustCompile(`\((?:[a-z_]+, )?code (\d{5})\)`)

// withErrorMeanings says in French what the provider's error codes of an
// event's detail mean. Details are stored as written: the meaning is
// added when they are shown.
func withErrorMeanings(detail string) string {
	if !strings.Contains(detail, "code ") {
		return detail
	}
	return providerCode.ReplaceAllStringFunc(detail, func(m string) string {
		code, _ := strconv.Atoi(providerCode.FindStringSubmatch(m)[1])
		return "(" + errorWords(code) + ")"
	})
}

// frame is an encoded message and whom it is for.
type frame struct {
	data      []byte
	rev       int64
	topic     string // an activation id
	dashboard bool   // also for the dashboard's clients
}

func (f *frame) matches(topic string) bool {
	return topic == f.topic || (f.dashboard && topic == dashboardTopic)
}

type hub struct {
	watch          WatchFunc
	activity       Activity
	missesDeadline func(ctx context.Context, a *tocsin.Activation, rs []tocsin.Recipient) bool
	cfg            LiveConfig
	log            *slog.Logger
	now            func() time.Time

	mu      sync.Mutex
	clients map[*client]struct{}
	topics  map[string]int // how many clients follow each topic
	rev     int64          // every change up to rev has been handed to the clients
	started bool
	acts    map[string]*tocsin.Activation // activations seen, for the rows' rules
	names   map[string]map[string]string  // officials' names by activation, for the timeline
	dirty   map[string]bool               // activations whose counters changed
	listed  map[string]bool               // open activations whose "à appeler" time has come (markListTime)
	// last holds each open activation's latest summary: a client gets
	// them when it registers, marked as snapshots (liveMsg.Snapshot), the
	// baseline its alerts compare with.
	last    map[string]frame
	rosters map[string]*roster // the recipients of the activations whose counters are sent
	stopped bool
}

// roster is an activation's recipients as the hub keeps them for its
// counters: read whole once, then changed by each recipient change the
// watch brings. While it is read (loading or counting), the changes wait
// in pending, applied once the reader is done: the recipients never change
// under a reader, and no change is lost or applied out of order.
type roster struct {
	use     sync.Mutex // one reader at a time
	loaded  bool
	rev     int64 // read at this revision: the changes up to it are in
	index   map[string]int
	rs      []tocsin.Recipient
	held    bool // a reader has rs: changes wait in pending (guarded by hub.mu)
	pending []Change
}

// offer applies a decoded recipient change to the roster, or keeps it for
// when the reader is done. Called with hub.mu held.
func (ro *roster) offer(c Change) {
	if ro.held || !ro.loaded {
		ro.pending = append(ro.pending, c)
		return
	}
	ro.apply(c)
}

// apply puts a recipient's new state in the roster, unless the roster was
// read after it.
func (ro *roster) apply(c Change) {
	if c.Rev <= ro.rev {
		return
	}
	r := c.Recipient
	if r == nil {
		return
	}
	if i, ok := ro.index[r.Official.ID]; ok {
		ro.rs[i] = *r
		return
	}
	ro.index[r.Official.ID] = len(ro.rs)
	ro.rs = append(ro.rs, *r)
}

func newHub(cfg *Config, log *slog.Logger) *hub {
	h := &hub{missesDeadline: cfg.MissesDeadline, watch: cfg.Watch, activity: cfg.Activity, cfg: cfg.Live, log: log.With("component", "live"), now: cfg.Now,
		clients: map[*client]struct{}{}, topics: map[string]int{}, acts: map[string]*tocsin.Activation{}, names: map[string]map[string]string{}, dirty: map[string]bool{},
		listed: map[string]bool{}, last: map[string]frame{}, rosters: map[string]*roster{}}
	h.cfg.defaults()
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// run feeds the clients until ctx ends, then disconnects them.
func (h *hub) run(ctx context.Context) {
	defer h.stop()
	if h.watch == nil || h.activity == nil {
		return
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		rev, err := h.activity.Revision(ctx)
		if err == nil {
			h.mu.Lock()
			h.rev, h.started = max(h.rev, rev), true
			h.mu.Unlock()
			break
		}
		h.log.Warn("live feed: store unreachable", "err", err)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
	go h.summaries(ctx)
	for ctx.Err() == nil {
		h.mu.Lock()
		from := h.rev
		h.mu.Unlock()
		err := h.watch(ctx, from, h.followed, h.broadcast)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrCompacted) {
			// Changes were lost to this replica: every page must reload.
			h.log.Warn("live feed: history compacted, clients reload", "from", from)
			rev, rerr := h.activity.Revision(ctx)
			h.mu.Lock()
			if rerr == nil {
				h.rev = rev
			}
			for c := range h.clients {
				h.dropLocked(c, closeReload)
			}
			clear(h.rosters) // read again: they missed changes too
			h.mu.Unlock()
			continue
		}
		h.log.Warn("live feed: watch ended, resuming", "from", from, "err", err)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (h *hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for c := range h.clients {
		h.dropLocked(c, closeGoingAway)
	}
}

// frames encodes changes as the messages clients receive. Only live
// changes update the hub's copy of the activations: a replay must not
// bring back an old state.
func (h *hub) frames(ctx context.Context, cs []Change, live bool) []frame {
	out := make([]frame, 0, len(cs))
	now := h.now()
	for _, c := range cs {
		m := liveMsg{Rev: c.Rev, Activation: c.Activation}
		f := frame{rev: c.Rev, topic: c.Activation}
		switch {
		case c.Record != nil:
			if live {
				h.mu.Lock()
				h.acts[c.Activation] = c.Record
				h.dirty[c.Activation] = true
				h.mu.Unlock()
			}
			m.Type, m.State, m.Title = "activation", string(c.Record.State), c.Record.Title
			f.dashboard = c.Record.CIPFor == "" // a CIP's call-out shows on its own page only
		case c.Recipient != nil:
			a := h.activation(ctx, c.Activation)
			if a == nil {
				continue
			}
			r := newRow(a, c.Recipient, now)
			m.Type, m.Row = "recipient", &r
			h.mu.Lock()
			if h.names[c.Activation] == nil {
				h.names[c.Activation] = map[string]string{}
			}
			h.names[c.Activation][r.ID] = r.Name
			h.mu.Unlock()
		case c.Event != nil:
			h.mu.Lock()
			if c.Event.Kind == tocsin.EventReply || c.Event.Kind == tocsin.EventReplyHandled {
				h.dirty[c.Activation] = true // the inbox's count changed
			}
			names := h.names[c.Activation]
			m.Type, m.Event = "event", newLiveEvent(c.Event, names, now)
			h.mu.Unlock()
		case c.Kind == KindCIP:
			// The CIP page reads its panel again (GET
			// /api/v1/activations/{id}/cip).
			m.Type = "cip"
		default:
			// Nobody follows it: its counters still change.
			h.mu.Lock()
			h.dirty[c.Activation] = true
			h.mu.Unlock()
			continue
		}
		data, err := json.Marshal(m)
		if err != nil {
			continue
		}
		f.data = data
		out = append(out, f)
	}
	return out
}

// followed reports whether a client follows activation id: only then are
// its recipients' and events' changes worth decoding.
func (h *hub) followed(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.topics[id] > 0
}

// followedLocked decodes the changes of cs the watch left undecoded whose
// activation a client follows by now, and returns them.
func (h *hub) followedLocked(cs []Change) []Change {
	var late []Change
	for i := range cs {
		if cs[i].Raw != nil && h.topics[cs[i].Activation] > 0 {
			c := cs[i]
			cs[i].Raw = nil // decoded once
			if c.decode() {
				late = append(late, c)
			}
		}
	}
	return late
}

// activation returns the activation a change belongs to, from the hub's
// cache or the store; nil if it cannot be read.
func (h *hub) activation(ctx context.Context, id string) *tocsin.Activation {
	h.mu.Lock()
	a := h.acts[id]
	h.dirty[id] = true
	h.mu.Unlock()
	if a != nil {
		return a
	}
	a, err := h.activity.Activation(ctx, id)
	if err != nil {
		// Recipients are written before their activation: a change seen
		// before the activation exists is shown by the page when it loads.
		return nil
	}
	h.mu.Lock()
	h.acts[id] = a
	h.mu.Unlock()
	return a
}

// broadcast hands changes to every client that follows them. It never
// blocks on a client.
func (h *hub) broadcast(cs []Change) {
	fs := h.frames(context.Background(), cs, true)
	counted := h.forRosters(cs)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range counted {
		if ro := h.rosters[c.Activation]; ro != nil {
			ro.offer(c)
		}
	}
	for late := h.followedLocked(cs); len(late) > 0; late = h.followedLocked(cs) {
		// A client came for an activation the watch did not decode.
		h.mu.Unlock()
		fs = append(fs, h.frames(context.Background(), late, true)...)
		slices.SortStableFunc(fs, func(x, y frame) int { return cmp.Compare(x.rev, y.rev) })
		h.mu.Lock()
	}
	for i := range fs {
		for c := range h.clients {
			if fs[i].matches(c.topic) {
				h.deliverLocked(c, fs[i].data)
			}
		}
	}
	for _, c := range cs {
		h.rev = max(h.rev, c.Rev)
	}
}

// forRosters returns the recipient changes of cs whose activation has a
// roster, decoded outside the hub's lock. A roster made after this look
// reads the store after these changes, and has them.
func (h *hub) forRosters(cs []Change) []Change {
	h.mu.Lock()
	kept := make(map[string]bool, len(h.rosters))
	for id := range h.rosters {
		kept[id] = true
	}
	h.mu.Unlock()
	var out []Change
	for _, c := range cs {
		if !kept[c.Activation] || (c.Recipient == nil && c.Kind != "rcpt") {
			continue
		}
		if c.Recipient == nil && !c.decode() { // c is a copy: cs stays undecoded
			continue
		}
		out = append(out, c)
	}
	return out
}

func (h *hub) deliverLocked(c *client, data []byte) {
	if c.catchingUp {
		if len(c.pending) >= h.cfg.Buffer {
			h.dropLocked(c, closeTooSlow)
			return
		}
		c.pending = append(c.pending, data)
		return
	}
	select {
	case c.send <- data:
	default:
		h.dropLocked(c, closeTooSlow)
	}
}

func (h *hub) dropLocked(c *client, why closeReason) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	h.removeLocked(c)
	if why == closeTooSlow {
		h.log.Warn("slow websocket client dropped", "user", c.user, "queued", len(c.send))
	}
	c.close(why)
}

// register adds a client that has seen every change up to since (0: the
// client has seen nothing and needs no replay). It returns the revision
// from which the hub feeds it: if it is above since, the caller replays
// the changes in between with catchUp.
func (h *hub) register(c *client, since int64) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return 0, false
	}
	h.clients[c] = struct{}{}
	h.topics[c.topic]++
	c.catchingUp = since > 0 && since < h.rev
	for _, f := range h.last {
		if f.matches(c.topic) {
			h.deliverLocked(c, f.snapshot().data) // marked here, off the summaries' path
		}
	}
	return h.rev, true
}

// clientCount returns how many clients the hub feeds.
func (h *hub) clientCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

func (h *hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(c)
}

// removeLocked forgets c.
func (h *hub) removeLocked(c *client) {
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	if h.topics[c.topic]--; h.topics[c.topic] <= 0 {
		delete(h.topics, c.topic)
	}
}

// catchUp replays to c the changes after since up to upto, which the hub
// registered c after; the hub's own feed, held meanwhile, follows. The
// replay reads etcd's history with a watch and ends at the first change
// past upto: every change the hub holds for c is past upto too, so the two
// join without a gap or a repeat.
func (h *hub) catchUp(ctx context.Context, c *client, since, upto int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	touched := map[string]bool{}
	var sendErr error
	err := h.watch(ctx, since, nil, func(cs []Change) {
		var mine []Change
		for _, ch := range cs {
			if ch.Rev > upto {
				cancel()
				break
			}
			mine = append(mine, ch)
		}
		for _, f := range h.frames(ctx, mine, false) {
			if !f.matches(c.topic) {
				continue
			}
			touched[f.topic] = true
			if sendErr = c.push(f.data, h.cfg.WriteTimeout); sendErr != nil {
				cancel()
				return
			}
		}
	})
	if sendErr != nil {
		return sendErr
	}
	if errors.Is(err, ErrCompacted) {
		return err
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	h.mu.Lock()
	c.catchingUp = false
	pending := c.pending
	c.pending = nil
	for _, data := range pending {
		h.deliverLocked(c, data)
	}
	h.mu.Unlock()
	for id := range touched {
		if f, _, ok := h.summary(context.WithoutCancel(ctx), id); ok && f.matches(c.topic) {
			c.push(f.data, h.cfg.WriteTimeout)
		}
	}
	return nil
}

// summaryPause is how many times the last computation of an activation's
// counters the hub waits before computing them again: every recipient is
// counted each time, so a large activation is recomputed less often, and
// counters never take more than about a tenth of a core.
const summaryPause = 9

// summaries recomputes the counters of the activations that changed, and
// sends them.
func (h *hub) summaries(ctx context.Context) {
	t := time.NewTicker(h.cfg.SummaryEvery)
	defer t.Stop()
	notBefore := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		idle := len(h.clients) == 0
		if idle {
			clear(h.rosters) // nobody to count for: read again when someone comes
		}
		h.mu.Unlock()
		if idle {
			continue
		}
		h.markListTime(ctx)
		h.mu.Lock()
		dirty := h.dirty
		h.dirty = map[string]bool{}
		h.mu.Unlock()
		for id := range dirty {
			if time.Now().Before(notBefore[id]) {
				h.mu.Lock()
				h.dirty[id] = true // its turn comes
				h.mu.Unlock()
				continue
			}
			f, took, ok := h.summary(ctx, id)
			notBefore[id] = time.Now().Add(summaryPause * took)
			if !ok {
				continue
			}
			h.mu.Lock()
			for c := range h.clients {
				if f.matches(c.topic) {
					h.deliverLocked(c, f.data)
				}
			}
			if a := h.acts[id]; a != nil && a.State == tocsin.Open {
				h.last[id] = f
			} else {
				delete(h.last, id)
			}
			h.mu.Unlock()
		}
	}
}

// markListTime marks dirty the open activations whose "à appeler" list
// grew by the clock alone: the officials not informed join it at a set
// time, with no write to announce it, and the pages count it from the
// server's counters. An activation a page follows that the hub has not
// seen yet is read first.
func (h *hub) markListTime(ctx context.Context) {
	h.mu.Lock()
	var unknown []string
	for id := range h.topics {
		if _, ok := h.acts[id]; !ok && id != dashboardTopic {
			unknown = append(unknown, id)
		}
	}
	h.mu.Unlock()
	for _, id := range unknown {
		a, err := h.activity.Activation(ctx, id)
		if err != nil && tocsin.ErrorCode(err) != tocsin.ENotFound {
			continue // read again at the next tick
		}
		h.mu.Lock()
		if h.acts[id] == nil {
			h.acts[id] = a // nil for none: activation() reads it again
		}
		h.mu.Unlock()
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, a := range h.acts {
		if a != nil && a.State == tocsin.Open && !h.listed[id] && !now.Before(manualAt(a)) {
			h.listed[id], h.dirty[id] = true, true
		}
	}
}

// snapshot is f, a summary, marked as the state a client starts from.
func (f frame) snapshot() frame {
	var m liveMsg
	if json.Unmarshal(f.data, &m) != nil {
		return f
	}
	m.Snapshot = true
	if data, err := json.Marshal(m); err == nil {
		f.data = data
	}
	return f
}

// summary reads an activation and encodes its counters, from its roster.
// It also returns how long counting took (not the roster's first read).
func (h *hub) summary(ctx context.Context, id string) (frame, time.Duration, bool) {
	a, err := h.activity.Activation(ctx, id)
	if err != nil {
		return frame{}, 0, false
	}
	var cnt counters
	var took time.Duration
	late := false
	err = h.withRoster(ctx, id, func(rs []tocsin.Recipient) {
		start := time.Now()
		defer func() { took = time.Since(start) }()
		// The names the timeline shows change only when officials are
		// added: not rebuilt at each count of a large activation.
		h.mu.Lock()
		h.acts[id] = a
		stale := len(h.names[id]) != len(rs)
		h.mu.Unlock()
		if stale {
			names := make(map[string]string, len(rs))
			for i := range rs {
				names[rs[i].Official.ID] = rs[i].Official.Name
			}
			h.mu.Lock()
			h.names[id] = names
			h.mu.Unlock()
		}
		cnt = newCounters(a, rs, h.now())
		for _, m := range messageLines(a, rs) {
			if cnt.Messages == nil {
				cnt.Messages = map[int]int{}
			}
			cnt.Messages[m.N] = m.Sent
		}
		late = h.missesDeadline != nil && cnt.Informed < cnt.Targeted && h.missesDeadline(ctx, a, rs)
	})
	if err != nil {
		return frame{}, 0, false
	}
	if a.State != tocsin.Open {
		h.mu.Lock()
		delete(h.rosters, id) // its counters change no more
		h.mu.Unlock()
	}
	// A count the store cannot give sends no summary: the consoles keep
	// the last one rather than show no reply to handle. Its reading counts
	// in the pause before the next summary.
	start := time.Now()
	if cnt.Inbox, err = inboxCount(ctx, h.activity, id); err != nil {
		return frame{}, 0, false
	}
	took += time.Since(start)
	data, err := json.Marshal(liveMsg{Type: "summary", Activation: id, State: string(a.State), Counters: &cnt, Title: a.Title,
		Deadline: a.Deadline.UTC().Format(time.RFC3339), Late: late})
	if err != nil {
		return frame{}, 0, false
	}
	return frame{data: data, topic: id, dashboard: a.CIPFor == ""}, took, true
}

// withRoster calls fn with activation id's recipients as of the last
// change the hub has seen, reading them from the store the first time.
// fn must not keep rs.
func (h *hub) withRoster(ctx context.Context, id string, fn func(rs []tocsin.Recipient)) error {
	h.mu.Lock()
	ro := h.rosters[id]
	if ro == nil {
		ro = &roster{}
		h.rosters[id] = ro
	}
	h.mu.Unlock()
	ro.use.Lock()
	defer ro.use.Unlock()
	h.mu.Lock()
	ro.held = true
	loaded := ro.loaded
	h.mu.Unlock()
	if !loaded {
		// Every change the watch brought before this read is in it; those
		// after wait in pending.
		rs, rev, err := h.activity.RecipientsRev(ctx, id)
		if err != nil {
			h.mu.Lock()
			ro.held, ro.pending = false, nil // the next read has them
			h.mu.Unlock()
			return err
		}
		ro.rs, ro.rev, ro.index = rs, rev, make(map[string]int, len(rs))
		for i := range rs {
			ro.index[rs[i].Official.ID] = i
		}
		ro.loaded = true
	}
	fn(ro.rs)
	h.mu.Lock()
	for _, c := range ro.pending {
		ro.apply(c)
	}
	ro.pending, ro.held = nil, false
	h.mu.Unlock()
	return nil
}
