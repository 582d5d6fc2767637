package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// liveMsg is a websocket message as the page reads it.
type liveMsg struct {
	Type       string `json:"type"`
	Rev        int64  `json:"rev"`
	Activation string `json:"activation"`
	Row        *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"row"`
	Event *struct {
		Seq    string `json:"seq"`
		Detail string `json:"detail"`
	} `json:"event"`
	Counters *struct {
		Informed    int `json:"informed"`
		Manual      int `json:"manual"`
		NotInformed int `json:"not_informed"`
		Inbox       int `json:"inbox"`
	} `json:"counters"`
}

// dialLive opens the live feed of an activation as b, from the console's
// origin, having seen every change up to since.
func dialLive(t *testing.T, b *browser, activation string, since int64) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := b.cookieHeader()
	h.Set("Origin", b.a.URL())
	u := "ws" + strings.TrimPrefix(b.a.URL(), "http") + "/ws?activation=" + activation
	if since > 0 {
		u += fmt.Sprintf("&depuis=%d", since)
	}
	return websocket.DefaultDialer.Dial(u, h)
}

// readUntil reads messages until cond holds, failing after timeout.
func readUntil(t *testing.T, c *websocket.Conn, timeout time.Duration, what string, cond func(m liveMsg) bool) []liveMsg {
	t.Helper()
	var got []liveMsg
	c.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v (after %d messages)", what, err, len(got))
		}
		var m liveMsg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("message %s: %v", data, err)
		}
		got = append(got, m)
		if cond(m) {
			return got
		}
	}
}

func confirm(t *testing.T, a *app.App, id, official string) {
	t.Helper()
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/recipients/"+official+"/confirm", map[string]string{"how": "téléphone"}, nil); st != http.StatusOK {
		t.Fatalf("confirm %s: status %d", official, st)
	}
}

// The live feed needs the page's session and the console's origin: the
// upgrader alone would let a request without Origin through.
func TestWebsocketNeedsSessionAndOrigin(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	u := "ws" + strings.TrimPrefix(a.URL(), "http") + "/ws?activation=" + id
	cases := []struct {
		name   string
		header http.Header
		status int
	}{
		{"no session", http.Header{"Origin": {a.URL()}}, http.StatusUnauthorized},
		{"forged session", http.Header{"Origin": {a.URL()}, "Cookie": {"tocsin_session=forge"}}, http.StatusUnauthorized},
		{"no origin", b.cookieHeader(), http.StatusForbidden},
		{"other origin", func() http.Header { h := b.cookieHeader(); h.Set("Origin", "https://attaquant.example"); return h }(), http.StatusForbidden},
	}
	for _, c := range cases {
		conn, resp, err := websocket.DefaultDialer.Dial(u, c.header)
		if err == nil {
			conn.Close()
			t.Errorf("%s: connected; want refused with %d", c.name, c.status)
			continue
		}
		if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: %v; want status %d", c.name, err, c.status)
		}
	}
	conn, _, err := dialLive(t, b, id, 0)
	if err != nil {
		t.Fatalf("auditor with a session, from the console: %v", err)
	}
	defer conn.Close()
	confirm(t, a, id, "maire-1")
	readUntil(t, conn, 5*time.Second, "maire-1 informed", func(m liveMsg) bool {
		return m.Type == "recipient" && m.Row.ID == "maire-1" && m.Row.Status == "informed"
	})
}

// A page that reconnects gives the last revision it saw and gets every
// change it missed, in order, then the live ones. When that history is
// compacted, it is told to reload.
func TestWebsocketCatchesUpAfterReconnect(t *testing.T) {
	t.Parallel()
	a := silentApp(t, app.Config{})
	id := mustActivate(t, a)
	// Every SMS handed over and delivered first: a late status of maire-1
	// would be a change after the reconnection, rightly replayed.
	waitFor(t, a, id, 10*time.Second, "every SMS delivered", func(v *view) bool {
		accepted := 0
		for _, e := range v.Timeline {
			if e.Kind == tocsin.EventAccepted {
				accepted++
			}
		}
		return v.Summary.Delivered == 3 && accepted == 3
	})
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	rev, err := a.Store().Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := dialLive(t, b, id, rev)
	if err != nil {
		t.Fatal(err)
	}
	confirm(t, a, id, "maire-1")
	seen := readUntil(t, conn, 5*time.Second, "maire-1 informed", func(m liveMsg) bool {
		return m.Type == "recipient" && m.Row.ID == "maire-1" && m.Row.Status == "informed"
	})
	last := seen[len(seen)-1].Rev
	conn.Close()

	// While the page is away, two officials are confirmed.
	confirm(t, a, id, "maire-2")
	confirm(t, a, id, "maire-3")
	time.Sleep(100 * time.Millisecond) // the replica's own feed has moved past them

	conn, _, err = dialLive(t, b, id, last)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	informed := map[string]bool{}
	var events []string
	prev := last
	got := readUntil(t, conn, 5*time.Second, "maire-2 and maire-3 informed", func(m liveMsg) bool {
		if m.Rev != 0 {
			if m.Rev < prev {
				t.Errorf("revision %d after %d: the replay is out of order", m.Rev, prev)
			}
			if m.Rev <= last {
				t.Errorf("revision %d replayed, already seen (last %d)", m.Rev, last)
			}
			prev = m.Rev
		}
		if m.Type == "recipient" && m.Row.Status == "informed" {
			informed[m.Row.ID] = true
		}
		if m.Type == "event" {
			events = append(events, m.Event.Detail)
		}
		return informed["maire-2"] && informed["maire-3"]
	})
	if informed["maire-1"] {
		t.Errorf("maire-1's change was replayed: seen before the reconnection")
	}
	if len(events) < 1 || !strings.Contains(strings.Join(events, "\n"), "Maire Numéro 2") {
		t.Errorf("replayed timeline %q; want maire-2's confirmation", events)
	}
	t.Logf("%d messages replayed", len(got))

	// Then the live feed continues.
	if st := api(t, a, "POST", "/api/v1/activations/"+id+"/close", nil, nil); st != http.StatusOK {
		t.Fatalf("close: %d", st)
	}
	readUntil(t, conn, 5*time.Second, "the activation closed", func(m liveMsg) bool {
		return m.Type == "activation" || (m.Type == "event" && strings.Contains(m.Event.Detail, "close"))
	})

	// Compacted history: the page must reload.
	cur, _ := a.Store().Revision(t.Context())
	if _, err := a.Store().Client().Compact(t.Context(), cur); err != nil {
		t.Fatal(err)
	}
	old, _, err := dialLive(t, b, id, last)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	old.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := old.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != 4001 {
				t.Errorf("after compaction: closed with %d %q; want 4001 (reload)", ce.Code, ce.Text)
			}
			break
		}
		if err != nil {
			t.Fatalf("after compaction: %v; want a close frame asking to reload", err)
		}
	}
}

// Three mayors never answer. The duty officer keeps the « À appeler » view
// open: it holds every official, hidden until they join the list, and when
// the manual rung's time comes with no write to announce it, the server's
// count of officials to call reaches the page.
func TestToCallCountFollowsTheClockLive(t *testing.T) {
	t.Parallel()
	clock := twiliosim.NewManualClock(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC))
	a := silentApp(t, app.Config{Clock: clock})
	id := mustActivate(t, a)
	// Every SMS delivered first: nothing written after, so that only the
	// clock can change the count.
	waitFor(t, a, id, 10*time.Second, "every SMS handed over", func(v *view) bool { return v.Summary.Sent == 3 })
	clock.Advance(time.Minute)
	waitFor(t, a, id, 10*time.Second, "every SMS delivered", func(v *view) bool { return v.Summary.Delivered == 3 })
	b := loginAs(t, a, "permanence", tocsin.RoleOfficer)
	_, page := b.get("/activations/" + id + "?filtre=a-appeler")
	for _, want := range []string{`À appeler (<span data-filter-count="a-appeler">0</span>)`, `Non informés (<span data-filter-count="non-informes">3</span>)`} {
		if !strings.Contains(page, want) {
			t.Errorf("filtered page lacks %q", want)
		}
	}
	for i := 1; i <= 3; i++ {
		if !regexp.MustCompile(`<tr id="elu-maire-` + strconv.Itoa(i) + `"[^>]* hidden>`).MatchString(page) {
			t.Errorf("maire-%d is not on the filtered page, hidden until they join the list", i)
		}
	}
	conn, _, err := dialLive(t, b, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The changes made before the page connected are counted first.
	readUntil(t, conn, 10*time.Second, "the counters before the list's time", func(m liveMsg) bool {
		return m.Type == "summary" && m.Counters != nil && m.Counters.Manual == 0 && m.Counters.NotInformed == 3
	})
	clock.Advance(30 * time.Minute)
	readUntil(t, conn, 10*time.Second, "three officials to call", func(m liveMsg) bool {
		return m.Type == "summary" && m.Counters != nil && m.Counters.Manual == 3 && m.Counters.NotInformed == 3
	})
}
