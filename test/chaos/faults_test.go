//go:build chaos

package chaos

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/directory"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// reconcileInterval is the replicas' --reconcile-interval in the fault
// test: short, so that statuses lost in an outage are read back soon.
const reconcileInterval = 10 * time.Second

// outage is a window during which etcd could not answer.
type outage struct {
	name       string
	start, end time.Time
	// recovered is how long after end every reply received before end was
	// recorded.
	recovered time.Duration
}

// probe is one request made while etcd was down, with what it got.
type probe struct {
	what   string
	status int
	took   time.Duration
}

// TestEtcdSuspendedAndRestartedNoReplyLostNoAuditEntryMissing activates
// the demo directory (708 officials who all reply "OK"), then suspends
// every etcd member (SIGSTOP, 20 s) and later kills and restarts them all,
// while replies flow. From the simulator's own record: every reply is an
// informed official at the reply's time, every message delivered at the
// provider is delivered in Tocsin, no official is texted twice, and the
// audit trail verifies. Requests made during the outages answer 503 within
// the deadline, never 500.
func TestEtcdSuspendedAndRestartedNoReplyLostNoAuditEntryMissing(t *testing.T) {
	c := startCluster(t, envInt("FAULTS_SMS_RATE", 10), fmt.Sprintf("TOCSIN_RECONCILE_INTERVAL=%s", reconcileInterval))
	var v view
	if got := c.api("POST", "/api/v1/activations", map[string]string{"playbook": "chaos"}, &v); got != http.StatusCreated {
		t.Fatalf("activation: got %d, want 201", got)
	}
	t.Logf("activation %s: %d officials", v.ID, v.Summary.Targeted)
	testingutil.Poll(t, time.Minute, 500*time.Millisecond, "100 SMS handed to the provider", func() bool { return len(c.outbound()) >= 100 })
	dir := c.directoryCSV()

	var outages []*outage
	var probes []probe
	// Outage 1: every member suspended, as a frozen VM or a stalled disk.
	o := &outage{name: "etcd suspended (SIGSTOP) 20 s", start: time.Now()}
	for _, m := range c.etcd {
		m.signal(syscall.SIGSTOP)
	}
	probes = append(probes, c.probeWhileDown(v.ID, dir, 20*time.Second)...)
	for _, m := range c.etcd {
		m.signal(syscall.SIGCONT)
	}
	o.end = time.Now()
	outages = append(outages, o)
	o.recovered = c.waitRepliesRecorded(v.ID, o.end, 3*time.Minute)
	t.Logf("%s: replies recorded %v after etcd returned", o.name, o.recovered.Round(100*time.Millisecond))

	// Outage 2: every member killed, then started again on its data.
	o = &outage{name: "etcd killed (SIGKILL) and restarted after 10 s", start: time.Now()}
	for _, m := range c.etcd {
		m.kill()
	}
	probes = append(probes, c.probeWhileDown(v.ID, dir, 10*time.Second)...)
	for _, m := range c.etcd {
		m.start(t)
	}
	o.end = time.Now()
	outages = append(outages, o)
	o.recovered = c.waitRepliesRecorded(v.ID, o.end, 3*time.Minute)
	t.Logf("%s: replies recorded %v after etcd was restarted", o.name, o.recovered.Round(100*time.Millisecond))

	var final *view
	testingutil.Poll(t, 5*time.Minute, 500*time.Millisecond, "every official informed and every delivery recorded", func() bool {
		f, ok := c.activation(v.ID)
		if !ok || f.Summary.Informed != f.Summary.Targeted {
			return false
		}
		final = f
		return len(c.deliveriesMissing(f)) == 0
	})

	checkOnceEach(t, c, final)
	checkRepliesRecorded(t, c, final, outages)
	if missing := c.deliveriesMissing(final); len(missing) > 0 {
		t.Errorf("%d messages delivered at the provider but not in Tocsin: %v", len(missing), missing)
	}
	checkProbes(t, probes)
	// The trail accounts for every activation and every informed official:
	// once what the leader has still to chain is chained, none is missing.
	var res struct {
		OK           bool  `json:"ok"`
		Entries      int   `json:"entries"`
		Break        any   `json:"break"`
		Missing      []any `json:"missing"`
		MissingCount int   `json:"missing_count"`
		PendingCount int   `json:"pending_count"`
		Outbox       int   `json:"outbox"`
	}
	testingutil.Poll(t, time.Minute, 500*time.Millisecond, "nothing left to chain in the audit trail", func() bool {
		return c.api("GET", "/api/v1/audit/verify", nil, &res) == http.StatusOK && res.PendingCount == 0 && res.Outbox == 0
	})
	if !res.OK || res.MissingCount > 0 || res.Break != nil {
		t.Errorf("audit verify: %+v; want intact, no entry missing", res)
	}
	t.Logf("audit trail: %d entries, intact, 0 missing (every activation and every informed official has its entry)", res.Entries)
}

// directoryCSV returns the directory in force as an import would take it.
func (c *cluster) directoryCSV() []byte {
	c.t.Helper()
	var officials struct {
		Officials []tocsin.Official `json:"officials"`
	}
	if st := c.api("GET", "/api/v1/officials", nil, &officials); st != http.StatusOK || len(officials.Officials) == 0 {
		c.t.Fatalf("GET officials: status %d, %d officials", st, len(officials.Officials))
	}
	var csv bytes.Buffer
	if err := directory.WriteCSV(&csv, officials.Officials); err != nil {
		c.t.Fatal(err)
	}
	return csv.Bytes()
}

// probeWhileDown makes, for d, the requests a duty officer and an
// administrator would: read the activation, import the directory (a write
// in several transactions). It returns each one's status and duration.
func (c *cluster) probeWhileDown(id string, csv []byte, d time.Duration) []probe {
	var mu sync.Mutex
	var out []probe
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	do := func(what, method, path string, body []byte) {
		for time.Now().Before(stop) {
			start := time.Now()
			st := c.raw(method, path, body)
			mu.Lock()
			out = append(out, probe{what, st, time.Since(start)})
			mu.Unlock()
			time.Sleep(time.Second)
		}
	}
	wg.Go(func() { do("GET activation", "GET", "/api/v1/activations/"+id, nil) })
	wg.Go(func() { do("PUT officials", "PUT", "/api/v1/officials", csv) })
	wg.Wait()
	return out
}

// raw calls the front as the administrator and returns the status only.
func (c *cluster) raw(method, path string, body []byte) int {
	req, _ := http.NewRequest(method, c.front+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "text/csv")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitRepliesRecorded waits until every reply the simulator received
// before `before` has its official informed, and returns how long after
// `before` that was.
func (c *cluster) waitRepliesRecorded(id string, before time.Time, timeout time.Duration) time.Duration {
	c.t.Helper()
	var took time.Duration
	testingutil.Poll(c.t, timeout, 500*time.Millisecond, "replies recorded", func() bool {
		f, ok := c.activation(id)
		if !ok {
			return false
		}
		informed := informedNumbers(f)
		for _, m := range c.messages() {
			if m.Direction == twiliosim.DirectionInbound && m.DateSent.Before(before) && informed[m.From] == nil {
				return false
			}
		}
		took = time.Since(before)
		return true
	})
	return took
}

// informedNumbers maps each official's numbers to the official, for those
// informed.
func informedNumbers(f *view) map[string]*tocsin.Recipient {
	out := map[string]*tocsin.Recipient{}
	for i := range f.Recipients {
		r := &f.Recipients[i]
		if r.InformedAt == nil {
			continue
		}
		for _, n := range r.Official.Numbers {
			out[n.E164] = r
		}
	}
	return out
}

// checkRepliesRecorded checks that every reply the simulator received
// informed its official at the reply's time (to Twilio's second when it
// was recovered, within Twilio's 15 s webhook wait when its webhook
// brought it), and states the figures of each outage.
func checkRepliesRecorded(t *testing.T, c *cluster, final *view, outages []*outage) {
	informed := informedNumbers(final)
	bySMS := 0
	for _, r := range final.Recipients {
		if r.InformedHow == "sms" {
			bySMS++
		}
	}
	recovered := 0
	for _, e := range final.Timeline {
		if e.Kind == tocsin.EventInformed && e.Recovered {
			recovered++
		}
	}
	during := make([]int, len(outages))
	// The first reply of each number answers the alert; a later one
	// answers the confirmation of the first, and changes nothing.
	first := map[string]twiliosim.Message{}
	for _, m := range c.messages() {
		if f, ok := first[m.From]; m.Direction == twiliosim.DirectionInbound && (!ok || m.DateSent.Before(f.DateSent)) {
			first[m.From] = m
		}
	}
	for _, m := range first {
		r := informed[m.From]
		if r == nil {
			t.Errorf("reply %s from %s at %v: nobody informed", m.SID, m.From, m.DateSent)
			continue
		}
		if !slices.Contains(r.Replies, m.SID) {
			t.Errorf("reply %s from %s: not recorded on %s (replies %v)", m.SID, m.From, r.Official.ID, r.Replies)
		}
		at := *r.InformedAt
		if at.Before(m.DateSent.Truncate(time.Second)) || at.After(m.DateSent.Add(15*time.Second)) {
			t.Errorf("%s informed at %v; the reply came at %v", r.Official.ID, at, m.DateSent)
		}
		for i, o := range outages {
			if !m.DateSent.Before(o.start) && m.DateSent.Before(o.end) {
				during[i]++
			}
		}
	}
	t.Logf("replies recovered from Twilio's records: %d of %d officials informed by SMS", recovered, bySMS)
	for i, o := range outages {
		t.Logf("%s: %d replies sent during the outage, all recorded; recorded %v after etcd returned", o.name, during[i],
			o.recovered.Round(100*time.Millisecond))
	}
}

// deliveriesMissing returns the SIDs of the messages the simulator
// delivered whose attempt Tocsin does not hold delivered.
func (c *cluster) deliveriesMissing(f *view) []string {
	status := map[string]tocsin.AttemptStatus{}
	for _, r := range f.Recipients {
		for _, at := range r.Attempts {
			if at.SID != "" {
				status[at.SID] = at.Status
			}
		}
	}
	var missing []string
	for _, m := range c.outbound() {
		if m.Status == "delivered" && status[m.SID] != tocsin.AttemptDelivered {
			missing = append(missing, m.SID)
		}
	}
	return missing
}

// checkProbes checks that no request made during an outage got a 500, and
// that each was answered within the API's 10 s deadline (with a margin for
// a loaded machine), and states the figures.
func checkProbes(t *testing.T, probes []probe) {
	count := map[string]map[int]int{}
	var worst time.Duration
	for _, p := range probes {
		if count[p.what] == nil {
			count[p.what] = map[int]int{}
		}
		count[p.what][p.status]++
		worst = max(worst, p.took)
		switch {
		case p.status == 0:
			t.Errorf("%s during an outage: no answer after %v", p.what, p.took.Round(time.Millisecond))
		case p.status >= 500 && p.status != http.StatusServiceUnavailable:
			t.Errorf("%s during an outage: status %d, want 503 (or success)", p.what, p.status)
		case p.took > 15*time.Second:
			t.Errorf("%s during an outage: answered after %v, want the 10 s deadline kept", p.what, p.took.Round(time.Millisecond))
		}
	}
	t.Logf("requests during the outages, by status: %v; slowest answer %v", count, worst.Round(time.Millisecond))
}
