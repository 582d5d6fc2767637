//go:build chaos

package chaos

import (
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// envInt reads a whole number from the environment, def when unset.
// run activates the chaos playbook for the demo directory (708 officials),
// kills the leader kills times at random moments (and, when etcdKill is
// set, one etcd member after the second kill), and waits until every
// official is informed. It returns the final view, the snapshots taken
// right before each kill, and the kill times.
func run(t *testing.T, c *cluster, kills int, etcdKill bool) (*view, []*view, []time.Time) {
	var v view
	if got := c.api("POST", "/api/v1/activations", map[string]string{"playbook": "chaos"}, &v); got != http.StatusCreated {
		t.Fatalf("activation: got %d, want 201", got)
	}
	t.Logf("activation %s: %d officials", v.ID, v.Summary.Targeted)
	var snaps []*view
	var killedAt []time.Time
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
		l := c.leader()
		for wait := time.Now(); l < 0 && time.Since(wait) < 30*time.Second; l = c.leader() {
			time.Sleep(50 * time.Millisecond)
		}
		if l < 0 {
			t.Fatal("no leader for 30 s")
		}
		if s, ok := c.activation(v.ID); ok {
			snaps = append(snaps, s)
		}
		c.replicas[l].kill()
		killedAt = append(killedAt, time.Now())
		t.Logf("kill %d: leader r%d killed", k+1, l)
		c.replicas[l].start(t)
		if etcdKill && k == 1 {
			m := rand.IntN(len(c.etcd))
			c.etcd[m].kill()
			t.Logf("etcd member m%d killed", m)
			go func() {
				time.Sleep(5 * time.Second)
				c.etcd[m].start(t)
			}()
		}
	}
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if f, ok := c.activation(v.ID); ok && f.Summary.Targeted > 0 && f.Summary.Informed == f.Summary.Targeted {
			return f, snaps, killedAt
		} else if time.Now().After(deadline) {
			if ok {
				t.Fatalf("after 4 min: %+v, want every official informed", f.Summary)
			}
			t.Fatal("after 4 min: activation unreadable")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkOnceEach checks, from the simulator's record, that each official was
// texted exactly once and that every number texted is an official's.
func checkOnceEach(t *testing.T, c *cluster, final *view) {
	per := map[string]int{}
	for _, m := range c.outbound() {
		per[m.To]++
	}
	for n, k := range per {
		if k != 1 {
			t.Errorf("%s got %d SMS, want exactly 1", n, k)
		}
	}
	for _, r := range final.Recipients {
		texted := 0
		for _, n := range r.Official.Numbers {
			texted += per[n.E164]
		}
		if texted != 1 {
			t.Errorf("official %s got %d SMS, want exactly 1", r.Official.ID, texted)
		}
		if r.InformedAt == nil {
			t.Errorf("official %s not informed", r.Official.ID)
		}
	}
	if len(per) != len(final.Recipients) {
		t.Errorf("the simulator texted %d numbers, want %d (one per official)", len(per), len(final.Recipients))
	}
	checkConfirmedOnce(t, c, final)
}

// checkConfirmedOnce checks, from the simulator's record, that each
// official informed by an SMS reply got exactly one confirmation, at the
// number that replied, and that nobody else got a notice.
func checkConfirmedOnce(t *testing.T, c *cluster, final *view) {
	want, total := map[string]int{}, 0
	for _, r := range final.Recipients {
		if r.InformedHow == "sms" {
			want[r.InformedFrom]++
			total++
		}
	}
	// The last confirmations leave after the last acknowledgements, at
	// the provider's rate, behind the first sends: wait while they flow.
	testingutil.AwaitProgress(t, 30*time.Second, "confirmations sent", total, func() int { return len(c.notices()) })
	got := map[string]int{}
	for _, m := range c.notices() {
		if !strings.Contains(m.Body, "Réception confirmée à") {
			t.Errorf("%s got %q, want no notice but a confirmation", m.To, m.Body)
		}
		got[m.To]++
	}
	for n, k := range want {
		if got[n] != k {
			t.Errorf("%s got %d confirmations, want %d", n, got[n], k)
		}
	}
	for n, k := range got {
		if want[n] == 0 {
			t.Errorf("%s got %d confirmations, want none", n, k)
		}
	}
	t.Logf("%d confirmations, each sent once", len(c.notices()))
}

// checkTimesKept checks that every timestamp seen before a kill is still
// there, unchanged, at the end.
func checkTimesKept(t *testing.T, snaps []*view, final *view) {
	rs := map[string]int{}
	for i, r := range final.Recipients {
		rs[r.Official.ID] = i
	}
	events := map[string]time.Time{}
	for _, e := range final.Timeline {
		events[e.Seq] = e.At
	}
	for k, s := range snaps {
		for _, e := range s.Timeline {
			if at, ok := events[e.Seq]; !ok || !at.Equal(e.At) {
				t.Errorf("before kill %d: event %s %s at %v; at the end: %v (present %v)", k+1, e.Seq, e.Kind, e.At, at, ok)
			}
		}
		for _, r := range s.Recipients {
			f := final.Recipients[rs[r.Official.ID]]
			if r.InformedAt != nil && (f.InformedAt == nil || !f.InformedAt.Equal(*r.InformedAt)) {
				t.Errorf("before kill %d: %s informed at %v; at the end %v", k+1, r.Official.ID, r.InformedAt, f.InformedAt)
			}
			for _, a := range r.Attempts {
				i := slices.IndexFunc(f.Attempts, func(b tocsin.Attempt) bool { return b.ID == a.ID })
				if i < 0 || !f.Attempts[i].CreatedAt.Equal(a.CreatedAt) || (a.SID != "" && f.Attempts[i].SID != a.SID) {
					t.Errorf("before kill %d: %s attempt %s (created %v, sid %q) lost or changed", k+1, r.Official.ID, a.ID, a.CreatedAt, a.SID)
				}
			}
		}
	}
}

// failovers returns, for each kill, the time to the next SMS created by
// the simulator. Sends that were in flight as the leader died land within
// a few milliseconds; they are not a new leader's.
func failovers(c *cluster, killedAt []time.Time) []time.Duration {
	var created []time.Time
	for _, m := range c.outbound() {
		created = append(created, m.DateCreated)
	}
	slices.SortFunc(created, func(a, b time.Time) int { return a.Compare(b) })
	var out []time.Duration
	for _, k := range killedAt {
		i, _ := slices.BinarySearchFunc(created, k.Add(200*time.Millisecond), func(a, b time.Time) int { return a.Compare(b) })
		if i < len(created) {
			out = append(out, created[i].Sub(k))
		}
	}
	return out
}

func summarize(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no measure"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var parts []string
	for _, d := range s {
		parts = append(parts, d.Round(10*time.Millisecond).String())
	}
	return "median " + s[len(s)/2].Round(10*time.Millisecond).String() + ", worst " + s[len(s)-1].Round(10*time.Millisecond).String() +
		" over " + strconv.Itoa(len(s)) + " kills (" + strings.Join(parts, " ") + ")"
}

// TestLeaderKilledManyTimesNothingLostNothingTwice is the chaos test: the
// leader is killed with SIGKILL at random moments while 708 officials are
// texted, one etcd member dies on the way, and the simulator's own record
// shows each official texted exactly once and informed.
func TestLeaderKilledManyTimesNothingLostNothingTwice(t *testing.T) {
	c := startCluster(t, envInt("CHAOS_SMS_RATE", 20))
	start := time.Now()
	final, snaps, killedAt := run(t, c, envInt("CHAOS_KILLS", 6), true)
	t.Logf("every official informed after %v", time.Since(start).Round(time.Second))
	checkOnceEach(t, c, final)
	checkTimesKept(t, snaps, final)
	t.Logf("failover (leader killed → next SMS): %s", summarize(failovers(c, killedAt)))
}

// TestMeasureFailover measures failover time, leader killed → next SMS,
// over many kills (CHAOS_KILLS, default 20) with the simulator unthrottled
// and Tocsin paced at CHAOS_SMS_RATE (default 5/s, so that the activation
// outlasts the kills). It runs only with CHAOS_MEASURE=1.
func TestMeasureFailover(t *testing.T) {
	if os.Getenv("CHAOS_MEASURE") == "" {
		t.Skip("set CHAOS_MEASURE=1 to measure failover")
	}
	c := startCluster(t, envInt("CHAOS_SMS_RATE", 5))
	final, snaps, killedAt := run(t, c, envInt("CHAOS_KILLS", 20), false)
	checkOnceEach(t, c, final)
	checkTimesKept(t, snaps, final)
	t.Logf("failover (leader killed → next SMS): %s", summarize(failovers(c, killedAt)))
}
