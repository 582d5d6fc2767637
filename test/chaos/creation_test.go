//go:build chaos

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// TestLeaderKilledWhileCreatingALargeActivation asks the leader itself for
// an activation of 6,000 officials and kills it (SIGKILL) as soon as it
// answers: the activation is recorded with its first part of recipients,
// the rest still being written by the dead replica. The next leader finds
// the creation stalled and finishes it from the directory version and the
// playbook it recorded, numbers that answer included. From the
// simulator's own record: every official texted exactly once, every
// reply matched to its official (informed at the reply's time), and the
// activation whole.
func TestLeaderKilledWhileCreatingALargeActivation(t *testing.T) {
	const n = 6000
	c := startClusterWith(t, clusterOptions{smsRate: 1000, empty: true,
		profile: "default: {behaviour: reply, delay: {min: 1s, max: 3s}}\ndelivery: {min: 100ms, max: 500ms}\n",
		simArgs: []string{"--mps", "0"}})
	officials := make([]tocsin.Official, n)
	for i := range officials {
		officials[i] = tocsin.Official{ID: fmt.Sprintf("m%05d", i), Name: fmt.Sprintf("Maire %05d", i), Role: "maire",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
			Numbers: []tocsin.Number{{E164: fmt.Sprintf("+3363%07d", i), Kind: tocsin.Mobile}}}
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.store.ReplaceOfficials(ctx, officials); err != nil {
		t.Fatal(err)
	}
	testingutil.Poll(t, time.Minute, 200*time.Millisecond, "a leader", func() bool { return c.leader() >= 0 })
	l := c.leader()

	body, _ := json.Marshal(map[string]string{"playbook": "chaos"})
	req, _ := http.NewRequest("POST", c.urls[l]+"/api/v1/activations", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v view
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	c.replicas[l].kill()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("activation: status %d", resp.StatusCode)
	}
	cr, _, err := c.store.Creation(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cr == nil {
		t.Fatalf("the leader finished writing the %d recipients before it was killed: nothing was left half-way", n)
	}
	t.Logf("leader r%d killed with %d of %d recipients written", l, cr.Written, n)
	c.replicas[l].start(t)

	var rs []tocsin.Recipient
	testingutil.Poll(t, 3*time.Minute, time.Second, fmt.Sprintf("%d officials informed by their replies", n), func() bool {
		all, err := c.store.Recipients(ctx, v.ID)
		if err != nil || len(all) < n {
			return false
		}
		for i := range all {
			if all[i].InformedAt == nil {
				return false
			}
		}
		rs = all
		return true
	})
	// The first reply of each number answers the alert (a later one
	// answers its confirmation).
	first := map[string]twiliosim.Message{}
	for _, m := range c.messages() {
		if f, ok := first[m.From]; m.Direction == twiliosim.DirectionInbound && (!ok || m.DateSent.Before(f.DateSent)) {
			first[m.From] = m
		}
	}
	for _, r := range rs {
		m := first[r.Official.Numbers[0].E164]
		if r.InformedHow != "sms" || r.InformedFrom != m.From || !slices.Contains(r.Replies, m.SID) {
			t.Errorf("%s informed by %s from %s (replies %v); want by its reply %s", r.Official.ID, r.InformedHow, r.InformedFrom, r.Replies, m.SID)
		}
	}
	got := map[string]int{}
	for _, m := range c.outbound() {
		if !isNotice(m.Body) {
			got[m.To]++
		}
	}
	for i := range officials {
		if k := got[officials[i].Numbers[0].E164]; k != 1 {
			t.Errorf("%s got %d SMS", officials[i].ID, k)
		}
	}
	if len(got) != n {
		t.Errorf("%d numbers texted; want %d", len(got), n)
	}
	cr, _, err = c.store.Creation(ctx, v.ID)
	if err != nil || cr != nil || len(rs) != n {
		t.Errorf("after: creation %+v (%v), %d recipients; want whole with %d", cr, err, len(rs), n)
	}
}
