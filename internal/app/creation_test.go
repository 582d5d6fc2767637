package app_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// silentProfile makes the n fiction mobiles of mustMayors silent: each
// gets its SMS and nothing more happens.
func silentProfile(n int) *twiliosim.Profile {
	p := &twiliosim.Profile{Numbers: map[string]twiliosim.Persona{}, Delivery: twiliosim.Fixed(10 * time.Millisecond)}
	for i := range n {
		p.Numbers[fictionMobile(i)] = twiliosim.Persona{Behaviour: twiliosim.Silent}
	}
	return p
}

// everyMayorOnceFrom waits until each of the n mayors got an SMS from
// activation id, and checks that none got two, and that the activation
// ended whole: its creation over, n recipients stored, which it returns.
func everyMayorOnceFrom(t *testing.T, a *app.App, id string, n int) []tocsin.Recipient {
	t.Helper()
	testingutil.Eventually(t, 30*time.Second, fmt.Sprintf("an SMS to each of %d mayors", n), func() bool {
		return len(a.Simulator().Messages()) >= n
	})
	want := map[string]int{}
	for i := range n {
		want[fictionMobile(i)] = 1
	}
	testingutil.ExpectSMSCounts(t, a.Simulator(), want)
	testingutil.Eventually(t, 10*time.Second, "the creation to end", func() bool {
		c, _, err := a.Store().Creation(t.Context(), id)
		return err == nil && c == nil
	})
	rs, err := a.Store().Recipients(t.Context(), id)
	if err != nil || len(rs) != n {
		t.Fatalf("%d recipients stored (%v); want %d", len(rs), err, n)
	}
	return rs
}

// An activation larger than a part is answered, and its first messages
// leave, with its first part of recipients; the rest are written after,
// and everyone gets one SMS.
func TestALargeActivationIsWrittenInPartsAndReachesEveryoneOnce(t *testing.T) {
	t.Parallel()
	const n, part = 95, 10
	a := mustRunApp(t, app.Config{CreationPart: part, SimulatorProfile: silentProfile(n)})
	mustMayors(t, a, n)

	var v view
	if st := api(t, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous"}, &v); st != http.StatusCreated {
		t.Fatalf("activation: status %d", st)
	}
	if v.Targeted != n || v.Summary.Targeted != n || v.Summary.NotInformed != n {
		t.Errorf("answered with %d targeted (summary %d, %d not informed); want %d", v.Targeted, v.Summary.Targeted, v.Summary.NotInformed, n)
	}
	if len(v.Recipients) != part {
		t.Errorf("answered with %d recipients written; want the first part, %d", len(v.Recipients), part)
	}
	rs := everyMayorOnceFrom(t, a, v.ID, n)
	for i := range rs {
		if want := fmt.Sprintf("o%04d", i); rs[i].Official.ID != want || rs[i].Message == "" {
			t.Errorf("recipient %d: %s with message %q; want %s with its message", i, rs[i].Official.ID, rs[i].Message, want)
		}
	}
}

// A replica that dies after recording a large activation with its first
// part leaves a creation that stops moving: the leader finishes it, from
// the directory version and the playbook it recorded, and nobody gets two
// SMS.
func TestTheLeaderFinishesACreationLeftHalfWay(t *testing.T) {
	t.Parallel()
	const n, part = 60, 8
	a := mustRunApp(t, app.Config{CreationPart: part, SimulatorProfile: silentProfile(n)})
	mustMayors(t, a, n)
	v := mustCreateAndDie(t, a, part)
	everyMayorOnceFrom(t, a, v.ID, n)
}

// The number index of a large activation answers for the first part at
// once and for the others before they are written: every official who
// replies, in any part, is informed, though the replica that created the
// activation died after its first part and the leader completed the index.
func TestEveryPartOfALargeActivationCanAcknowledge(t *testing.T) {
	t.Parallel()
	const n, part = 150, 8 // more numbers than one shard of the index holds
	p := &twiliosim.Profile{Numbers: map[string]twiliosim.Persona{}, Delivery: twiliosim.Fixed(10 * time.Millisecond)}
	for i := range n {
		p.Numbers[fictionMobile(i)] = twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Fixed(20 * time.Millisecond)}
	}
	a := mustRunApp(t, app.Config{CreationPart: part, SimulatorProfile: p})
	mustMayors(t, a, n)
	v := mustCreateAndDie(t, a, part)
	state := testingutil.Await(t, 30*time.Second, "every official informed", func() (string, bool) {
		rs, err := a.Store().Recipients(t.Context(), v.ID)
		if err != nil {
			return err.Error(), false
		}
		informed := 0
		for _, r := range rs {
			if r.InformedAt != nil && r.InformedHow == "sms" {
				informed++
			}
		}
		return fmt.Sprintf("%d of %d recipients written, %d informed by SMS", len(rs), n, informed), len(rs) == n && informed == n
	})
	t.Log(state)
	for i := range n {
		if got := len(testingutil.Alerts(a.Simulator(), fictionMobile(i))); got != 1 {
			t.Errorf("%s got %d alerts, want 1", fictionMobile(i), got)
		}
	}
}

// mustCreateAndDie records an activation to every mayor with its first
// part, through another replica's service that dies then: its background
// work never runs, and the leader is left to finish the creation.
func mustCreateAndDie(t *testing.T, a *app.App, part int) *activation.View {
	t.Helper()
	pb := tocsin.Playbook{ID: "test-tous", Title: "Alerte de test", Audience: tocsin.Audience{Everyone: true},
		Message: "Alerte de test pour {{.Commune}}.", Deadline: time.Hour, Ladder: tocsin.DefaultLadder}
	dying := activation.New(activation.Config{
		Store:     a.Store(),
		Creations: a.Store(),
		PartSize:  part,
		Playbooks: func() []tocsin.Playbook { return []tocsin.Playbook{pb} },
		Render: func(*tocsin.Playbook, *tocsin.Activation) (func(*tocsin.Official, bool, bool) (string, error), error) {
			return func(o *tocsin.Official, spoken, deputy bool) (string, error) {
				return "Alerte de test pour " + o.CommuneName + ".", nil
			}, nil
		},
		Go: func(func(context.Context)) {},
	})
	v, err := dying.Create(t.Context(), tocsin.User{Name: "cod", Role: tocsin.RoleOfficer}, activation.Request{Playbook: "test-tous"})
	if err != nil {
		t.Fatal(err)
	}
	if c, _, err := a.Store().Creation(t.Context(), v.ID); err != nil || c == nil || c.Written != part {
		t.Fatalf("after the first part: creation %+v (%v); want %d written", c, err, part)
	}
	return v
}
