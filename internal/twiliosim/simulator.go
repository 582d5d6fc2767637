package twiliosim

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Credentials a Config without its own uses. They are not secret: anyone
// who can reach a simulator with them can drive it.
const (
	DefaultAccountSID = "AC00000000000000000000000000000076"
	DefaultAuthToken  = "tocsinsimulatorauthtoken00000076"
)

// Config sets up a Simulator. Only AccountSID and AuthToken matter to a
// client; everything else has a working zero value.
type Config struct {
	// AccountSID and AuthToken are the credentials clients must present
	// (HTTP Basic) and sign webhooks with. Empty: DefaultAccountSID,
	// DefaultAuthToken. twilio-go refuses credentials that are not
	// alphanumeric.
	AccountSID string
	AuthToken  string
	// SMSURL receives the officials' replies, as a phone number's
	// incoming-message webhook would; see SetSMSURL.
	SMSURL string
	// Numbers are the account's phone numbers. When set, a From that is a
	// phone number must be one of them, and messages sent through a
	// Messaging Service go out from the first. Empty: any From is taken.
	Numbers []string
	// Profile decides how each number behaves.
	Profile Profile
	// MessagesPerSecond and CallsPerSecond cap creates, with bursts of up
	// to one second's worth; MaxConcurrentCalls caps calls not yet ended.
	// Beyond, creates get 429 with code 20429. Zero: unlimited.
	MessagesPerSecond  int
	CallsPerSecond     int
	MaxConcurrentCalls int
	// Clock drives every delay; nil is the wall clock.
	Clock Clock
	// Logger receives the simulator's log, scoped with component=twiliosim;
	// nil discards it.
	Logger *slog.Logger
	// HTTPClient posts status callbacks and replies; nil uses a client with
	// Twilio's 15 s timeout.
	HTTPClient *http.Client
}

// Validate reports what is wrong with c, if anything.
func (c *Config) Validate() error {
	if c.AccountSID != "" && !accountSIDPattern.MatchString(c.AccountSID) {
		return fmt.Errorf("account SID must be AC followed by 32 hexadecimal digits")
	}
	if c.AuthToken != "" && !alphanumeric.MatchString(c.AuthToken) {
		return fmt.Errorf("auth token must be letters and digits only")
	}
	if c.SMSURL != "" && !validWebhookURL(c.SMSURL) {
		return fmt.Errorf("SMS URL %q is not an absolute http(s) URL", c.SMSURL)
	}
	for _, n := range c.Numbers {
		if !e164.MatchString(n) {
			return fmt.Errorf("number %q is not in E.164 form (+33…)", n)
		}
	}
	if c.MessagesPerSecond < 0 || c.CallsPerSecond < 0 || c.MaxConcurrentCalls < 0 {
		return errors.New("limits must be 0 (unlimited) or above")
	}
	return c.Profile.Validate()
}

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	alphanumeric      = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
)

func validWebhookURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Simulator is a Twilio account in memory: the REST API (see Handler), the
// virtual officials behind each number, and a record of everything sent.
// It is safe for concurrent use.
type Simulator struct {
	accountSID string
	authToken  string
	numbers    []string
	clock      Clock
	log        *slog.Logger
	client     *http.Client

	mu      sync.Mutex
	profile Profile
	smsURL  string
	latency time.Duration
	faults  []Fault
	// lose drops every webhook while set (LoseWebhooks).
	lose      bool
	messages  []*Message
	msgBySID  map[string]*Message
	calls     []*Call
	callBySID map[string]*Call
	msgLimit  bucket
	callLimit bucket
	maxCalls  int
	// activeCalls counts the calls not ended, for maxCalls.
	activeCalls int
	stats       Stats
	timers      map[uint64]Timer
	timerSeq    uint64
	closed      bool
	// queues are the call queues by name; arrivals counts the callers
	// Arrivals placed, for their numbers.
	queues   map[string]*queueRun
	arrivals int
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup
}

// New returns a Simulator for cfg. It does not check cfg: call
// cfg.Validate first when cfg comes from a user (Start does).
func New(cfg Config) *Simulator {
	s := &Simulator{
		accountSID: cfg.AccountSID,
		authToken:  cfg.AuthToken,
		numbers:    append([]string(nil), cfg.Numbers...),
		clock:      cfg.Clock,
		log:        cfg.Logger,
		client:     cfg.HTTPClient,
		profile:    cfg.Profile.clone(),
		smsURL:     cfg.SMSURL,
		msgBySID:   make(map[string]*Message),
		callBySID:  make(map[string]*Call),
		msgLimit:   bucket{rate: float64(cfg.MessagesPerSecond)},
		callLimit:  bucket{rate: float64(cfg.CallsPerSecond)},
		maxCalls:   cfg.MaxConcurrentCalls,
		stats:      Stats{Faults: map[string]int{}},
		timers:     make(map[uint64]Timer),
		done:       make(chan struct{}),
	}
	if s.accountSID == "" {
		s.accountSID = DefaultAccountSID
	}
	if s.authToken == "" {
		s.authToken = DefaultAuthToken
	}
	if s.clock == nil {
		s.clock = RealClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "twiliosim")
	if s.client == nil {
		// Callbacks go by the hundred a second to a handful of hosts: keep
		// their connections open instead of the default two per host.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 256
		s.client = &http.Client{Timeout: 15 * time.Second, Transport: t}
	}
	return s
}

// AccountSID returns the account clients must use.
func (s *Simulator) AccountSID() string { return s.accountSID }

// AuthToken returns the token clients authenticate with and webhooks are
// signed with.
func (s *Simulator) AuthToken() string { return s.authToken }

// SetSMSURL sets where replies are posted from now on; "" stops posting
// them (they are still recorded).
func (s *Simulator) SetSMSURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.smsURL = u
}

// SetProfile replaces the profile for messages and calls created from now
// on; those already under way keep the behaviour they started with.
func (s *Simulator) SetProfile(p Profile) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profile = p.clone()
	return nil
}

// Close stops every pending delay (no more status changes, callbacks or
// replies) and waits for the callbacks and replies being posted. It is
// safe to call more than once.
func (s *Simulator) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	close(s.done)
	timers := s.timers
	s.timers = nil
	s.mu.Unlock()
	for _, t := range timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.wg.Wait()
}

// after runs f once d has passed on the simulator's clock, unless the
// simulator is closed first. f runs without s.mu held.
func (s *Simulator) after(d time.Duration, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.afterLocked(d, f)
}

// afterLocked is after, called with s.mu held. It returns the timer's id
// for stopTimer, 0 when the simulator is closed and f will never run.
func (s *Simulator) afterLocked(d time.Duration, f func()) uint64 {
	if s.closed {
		return 0
	}
	s.timerSeq++
	id := s.timerSeq
	s.wg.Add(1)
	s.timers[id] = s.clock.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		_, pending := s.timers[id]
		delete(s.timers, id)
		s.mu.Unlock()
		if pending {
			f()
		}
	})
	return id
}

// stopTimer drops the timer id if it has not fired yet. Called with s.mu
// held; id 0 and timers already fired are ignored.
func (s *Simulator) stopTimer(id uint64) {
	t, ok := s.timers[id]
	if !ok {
		return
	}
	delete(s.timers, id)
	if t.Stop() {
		s.wg.Done()
	}
}

// Stats counts what the simulator did.
type Stats struct {
	Messages    int `json:"messages"`     // outbound messages created
	Replies     int `json:"replies"`      // inbound replies recorded
	Calls       int `json:"calls"`        // calls created
	CallsIn     int `json:"calls_in"`     // inbound calls placed by Arrive
	Rejected    int `json:"rejected"`     // creates refused with a 4xx Twilio error (21211, 21614, …), 429s aside
	RateLimited int `json:"rate_limited"` // 429s served because a limit was exceeded
	// Faults counts the injected faults served, by kind: "429", "500",
	// "503", "500-after-create", "503-after-create".
	Faults           map[string]int `json:"faults"`
	Callbacks        int            `json:"callbacks"`         // webhooks posted and answered 2xx
	CallbackFailures int            `json:"callback_failures"` // webhooks that failed or got another status
	CallbacksLost    int            `json:"callbacks_lost"`    // webhooks dropped on purpose (LoseWebhooks)
	TwiMLFetches     int            `json:"twiml_fetches"`     // TwiML documents requested over HTTP
	TwiMLFailures    int            `json:"twiml_failures"`    // of those, the ones that failed or got another status than 2xx
}

// Stats returns a copy of the counters.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Faults = make(map[string]int, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		st.Faults[k] = v
	}
	return st
}

// Messages returns a copy of every message, outbound and inbound, oldest
// first.
func (s *Simulator) Messages() []Message {
	return s.messagesWhere(func(*Message) bool { return true })
}

// MessagesTo returns the outbound messages created for number, oldest
// first, including those whose create was answered with an injected fault.
func (s *Simulator) MessagesTo(number string) []Message {
	return s.messagesWhere(func(m *Message) bool { return m.Direction == DirectionOutbound && m.To == number })
}

// Replies returns the officials' inbound replies, oldest first.
func (s *Simulator) Replies() []Message {
	return s.messagesWhere(func(m *Message) bool { return m.Direction == DirectionInbound })
}

// Message returns the message with sid.
func (s *Simulator) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgBySID[sid]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

func (s *Simulator) messagesWhere(keep func(*Message) bool) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Message{}
	for _, m := range s.messages {
		if keep(m) {
			out = append(out, *m)
		}
	}
	return out
}

// Calls returns a copy of every call, oldest first.
func (s *Simulator) Calls() []Call {
	return s.callsWhere(func(*Call) bool { return true })
}

// CallsTo returns the calls placed to number, oldest first.
func (s *Simulator) CallsTo(number string) []Call {
	return s.callsWhere(func(c *Call) bool { return c.To == number })
}

// Call returns the call with sid.
func (s *Simulator) Call(sid string) (Call, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.callBySID[sid]
	if !ok {
		return Call{}, false
	}
	return c.clone(), true
}

func (s *Simulator) callsWhere(keep func(*Call) bool) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Call{}
	for _, c := range s.calls {
		if keep(c) {
			out = append(out, c.clone())
		}
	}
	return out
}

// newSID returns prefix followed by 32 random hexadecimal digits, as Twilio
// SIDs are.
func newSID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// mask shortens a phone number for logs at info level.
func mask(number string) string {
	if len(number) <= 6 {
		return number
	}
	return number[:4] + strings.Repeat("*", len(number)-6) + number[len(number)-2:]
}
