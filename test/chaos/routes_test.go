//go:build chaos

package chaos

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
)

const (
	secondarySID   = "AC00000000000000000000000000000002"
	secondaryToken = "secondarytoken000000000000000002"
)

// TestPrimaryRouteSuspendedSecondaryTakesOverNobodyTextedTwice suspends
// the primary Twilio account (its simulator, SIGSTOP: every request hangs
// until Tocsin's timeout, outcome unknown) in the middle of an activation
// of the demo directory, for about 40 s: the secondary account takes
// over; the leader is killed meanwhile and the next one goes on with the
// secondary; the sends left unknown on the primary wait until it answers
// again and its records settle them. From both simulators' own records: every official
// texted exactly once across the two accounts, and informed.
func TestPrimaryRouteSuspendedSecondaryTakesOverNobodyTextedTwice(t *testing.T) {
	ports, err := etcd.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	secondURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	c := startCluster(t, envInt("CHAOS_SMS_RATE", 20),
		"TOCSIN_TWILIO_SECONDARY_ACCOUNT_SID="+secondarySID, "TOCSIN_TWILIO_SECONDARY_AUTH_TOKEN="+secondaryToken,
		"TOCSIN_TWILIO_SECONDARY_FROM=+33235000077", "TOCSIN_TWILIO_SECONDARY_API_URL="+secondURL,
		"TOCSIN_ROUTE_FAILOVER_AFTER=5s")
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.yaml")
	os.WriteFile(profile, []byte("default: {behaviour: reply, delay: {min: 1s, max: 4s}}\ndelivery: {min: 200ms, max: 1s}\n"), 0o600)
	second := &proc{name: "twiliosim secondary", log: filepath.Join(dir, "twiliosim-2.log"), args: []string{"twiliosim",
		"--listen", strings.TrimPrefix(secondURL, "http://"), "--profile", profile, "--account-sid", secondarySID,
		"--sms-url", c.front + "/twilio/sms/inbound", "--log-level", "warn"},
		env: []string{"TWILIOSIM_AUTH_TOKEN=" + secondaryToken}}
	second.start(t)
	t.Cleanup(second.kill)

	var v view
	if got := c.api("POST", "/api/v1/activations", map[string]string{"playbook": "chaos"}, &v); got != http.StatusCreated {
		t.Fatalf("activation: got %d, want 201", got)
	}
	testingutil.Poll(t, time.Minute, 500*time.Millisecond, "100 SMS by the primary", func() bool { return len(c.outbound()) >= 100 })
	c.sim.signal(syscall.SIGSTOP)
	t.Log("primary account suspended")
	testingutil.Poll(t, time.Minute, 500*time.Millisecond, "the secondary sending", func() bool { return len(sent(simMessages(t, secondURL, secondarySID, secondaryToken))) >= 100 })
	// The leader dies while the primary is down: the next one resumes on
	// the secondary the previous leader used, without waiting the failover
	// delay again.
	l := -1
	testingutil.Poll(t, 30*time.Second, 100*time.Millisecond, "a leader", func() bool { l = c.leader(); return l >= 0 })
	before := len(sent(simMessages(t, secondURL, secondarySID, secondaryToken)))
	c.replicas[l].kill()
	killed := time.Now()
	c.replicas[l].start(t)
	testingutil.Poll(t, 30*time.Second, 20*time.Millisecond, "the secondary sending under the new leader", func() bool {
		return len(sent(simMessages(t, secondURL, secondarySID, secondaryToken))) > before+5
	})
	t.Logf("leader r%d killed while on the secondary route: sends resumed on it %v later", l, time.Since(killed).Round(10*time.Millisecond))
	time.Sleep(10 * time.Second) // the outage goes on while the secondary works
	c.sim.signal(syscall.SIGCONT)
	t.Log("primary account back")

	var final *view
	testingutil.Poll(t, 4*time.Minute, 500*time.Millisecond, "every official informed", func() bool {
		f, ok := c.activation(v.ID)
		final = f
		return ok && f.Summary.Informed == f.Summary.Targeted
	})
	per := map[string]int{}
	primaryN, secondaryN := 0, 0
	for _, m := range c.outbound() {
		per[m.To]++
		primaryN++
	}
	for _, m := range alerts(sent(simMessages(t, secondURL, secondarySID, secondaryToken))) {
		per[m.To]++
		secondaryN++
	}
	for n, k := range per {
		if k != 1 {
			t.Errorf("%s got %d SMS across both accounts, want exactly 1", n, k)
		}
	}
	if len(per) != len(final.Recipients) {
		t.Errorf("%d numbers texted across both accounts, want %d (one per official)", len(per), len(final.Recipients))
	}
	onSecondary := 0
	for _, r := range final.Recipients {
		for _, at := range r.Attempts {
			if at.Route == "secondary" {
				onSecondary++
			}
		}
	}
	if onSecondary != secondaryN {
		t.Errorf("%d attempts recorded on the secondary route, the secondary account sent %d", onSecondary, secondaryN)
	}
	t.Logf("%d officials: %d SMS by the primary, %d by the secondary, each texted once, all informed", len(final.Recipients), primaryN, secondaryN)
}
