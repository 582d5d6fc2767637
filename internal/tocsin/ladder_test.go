package tocsin

import (
	"testing"
	"time"
)

var defaultLadder = []Rung{
	{After: 0, Channel: SMS, Targets: []Target{TargetMobile}, Retries: 1},
	{After: 10 * time.Minute, Channel: Voice, Targets: []Target{TargetMobile, TargetLandline}, Retries: 1},
	{After: 20 * time.Minute, Channel: SMS, Targets: []Target{TargetDeputies}},
	{After: 30 * time.Minute, Channel: Manual},
}

func open(ladder []Rung) *Activation {
	return &Activation{State: Open, ActivatedAt: t0, Deadline: t0.Add(time.Hour), Ladder: ladder}
}

func settle(r *Recipient, due []Attempt, status AttemptStatus, at time.Time) {
	for _, d := range due {
		d.Status, d.UpdatedAt, d.CreatedAt = status, at, at
		r.Attempts = append(r.Attempts, d)
	}
}

func TestLandlineOnlyMayorIsCalledAtOnce(t *testing.T) {
	a := open(defaultLadder)
	r := &Recipient{Official: mayor(Number{"+33261910001", Landline})}
	due, _ := a.Plan(r, t0)
	if len(due) != 1 || due[0].Channel != Voice || due[0].To != "+33261910001" || due[0].Rung != 1 {
		t.Fatalf("at T0: %+v; want a call to the landline at once (rung 2)", due)
	}
}

func TestPermanentErrorMovesToTheNextRungAtOnce(t *testing.T) {
	a := open(defaultLadder)
	r := &Recipient{Official: mayor(Number{"+33639980001", Mobile})}
	due, _ := a.Plan(r, t0)
	settle(r, due, AttemptRejected, t0.Add(time.Second))
	due, _ = a.Plan(r, t0.Add(2*time.Second))
	if len(due) != 1 || due[0].Channel != Voice || due[0].Rung != 1 {
		t.Fatalf("after the SMS was refused for good: %+v; want the call now, not at T+10", due)
	}
}

func TestFailedAttemptIsRetriedAfterTheDelayThenEscalates(t *testing.T) {
	a := open(defaultLadder)
	r := &Recipient{Official: mayor(Number{"+33639980001", Mobile}),
		Deputies: []Contact{{ID: "adj", Numbers: []Number{{"+33639980002", Mobile}}}}}
	due, _ := a.Plan(r, t0)
	settle(r, due, AttemptUndelivered, t0.Add(time.Minute))
	due, next := a.Plan(r, t0.Add(2*time.Minute))
	if len(due) != 0 || !next.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("undelivered at T+1: due %+v next %s; want a retry at T+6", due, next)
	}
	due, _ = a.Plan(r, t0.Add(6*time.Minute))
	if len(due) != 1 || due[0].Channel != SMS || due[0].Rung != 0 {
		t.Fatalf("at T+6: %+v; want the SMS retry", due)
	}
	settle(r, due, AttemptUndelivered, t0.Add(7*time.Minute))
	// Retries used up: rung 1 (voice) starts at once, not at T+10.
	due, _ = a.Plan(r, t0.Add(7*time.Minute))
	if len(due) != 1 || due[0].Channel != Voice {
		t.Fatalf("after the retry failed: %+v; want the call", due)
	}
	settle(r, due, AttemptNoAnswer, t0.Add(8*time.Minute))
	due, _ = a.Plan(r, t0.Add(11*time.Minute))
	if len(due) != 1 || due[0].Channel != Voice {
		t.Fatalf("no answer at T+8: %+v; want the call again at T+11", due)
	}
	settle(r, due, AttemptCompleted, t0.Add(12*time.Minute)) // voicemail: no key press
	due, _ = a.Plan(r, t0.Add(12*time.Minute))
	if len(due) != 1 || due[0].To != "+33639980002" || due[0].Rung != 2 {
		t.Fatalf("voicemail twice: %+v; want the deputy's SMS now", due)
	}
	if a.OnManualList(r, t0.Add(29*time.Minute)) || !a.OnManualList(r, t0.Add(30*time.Minute)) {
		t.Errorf("manual list: want it from T+30 only")
	}
	now := t0.Add(31 * time.Minute)
	r.InformedAt = &now
	if a.OnManualList(r, now) {
		t.Errorf("informed official still on the manual list")
	}
}

// A rung's own retry delay replaces its channel's default.
func TestARungsRetryDelayReplacesTheDefault(t *testing.T) {
	ladder := []Rung{{After: 0, Channel: SMS, Targets: []Target{TargetMobile}, Retries: 1, RetryAfter: 90 * time.Second}}
	a := open(ladder)
	r := &Recipient{Official: mayor(Number{"+33639980001", Mobile})}
	due, _ := a.Plan(r, t0)
	settle(r, due, AttemptUndelivered, t0.Add(time.Minute))
	if due, next := a.Plan(r, t0.Add(2*time.Minute)); len(due) != 0 || !next.Equal(t0.Add(150*time.Second)) {
		t.Fatalf("undelivered at T+1 min: due %+v, next %s; want the retry 90 s later", due, next)
	}
	if due, _ := a.Plan(r, t0.Add(150*time.Second)); len(due) != 1 || due[0].Channel != SMS {
		t.Fatalf("at T+2 min 30 s: %+v; want the SMS retry", due)
	}
}

func TestDeliveredSMSWaitsForTheNextRung(t *testing.T) {
	a := open(defaultLadder)
	r := &Recipient{Official: mayor(Number{"+33639980001", Mobile})}
	due, _ := a.Plan(r, t0)
	settle(r, due, AttemptDelivered, t0.Add(time.Minute))
	due, next := a.Plan(r, t0.Add(5*time.Minute))
	if len(due) != 0 || !next.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("delivered, no reply: due %+v next %s; want the call at T+10", due, next)
	}
}

// The SMS was delivered two minutes ago and nobody answered: the duty
// officer presses « Relancer maintenant » and the call comes now, not at
// T+10. Pressed again, the deputies' rung comes; with none left, nothing.
func TestRushBringsTheNextRungForward(t *testing.T) {
	a := open(defaultLadder)
	r := &Recipient{Official: mayor(Number{"+33639980001", Mobile}),
		Deputies: []Contact{{ID: "adjoint", Name: "Adjoint", Numbers: []Number{{"+33639980002", Mobile}}}}}
	due, _ := a.Plan(r, t0)
	settle(r, due, AttemptDelivered, t0.Add(time.Second))
	now := t0.Add(2 * time.Minute)
	if due, next := a.Plan(r, now); len(due) != 0 || !next.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("before the rush: due %+v, next %s; want the call at T+10", due, next)
	}
	ch, ok := a.RushNext(r, now, "paul")
	due, _ = a.Plan(r, now)
	if !ok || ch != Voice || len(due) != 1 || due[0].Rung != 1 || due[0].Channel != Voice {
		t.Fatalf("rushed at T+2: %s %v, due %+v; want the call now", ch, ok, due)
	}
	settle(r, due, AttemptNoAnswer, now.Add(time.Minute))
	later := now.Add(2 * time.Minute)
	ch, ok = a.RushNext(r, later, "paul")
	due, _ = a.Plan(r, later)
	if !ok || ch != SMS || len(due) != 1 || due[0].To != "+33639980002" {
		t.Fatalf("rushed again: %s %v, due %+v; want the deputy's SMS now", ch, ok, due)
	}
	settle(r, due, AttemptDelivered, later.Add(time.Second))
	if _, ok := a.RushNext(r, later.Add(time.Minute), "paul"); ok || len(r.Rushes) != 2 {
		t.Errorf("rushed with every rung started: %v, %d rushes kept; want refused, 2 kept", ok, len(r.Rushes))
	}
}
