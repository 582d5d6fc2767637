package app_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// BenchmarkEscalation708 informs 708 mayors with the full ladder at the
// account's rates — 10 SMS/s, 1 call/s, 5 calls at once — against virtual
// officials of whom 70 % reply to the SMS within 5 min, 20 % answer the
// call and press 1, 10 % never answer. It reports the forecast and what
// was achieved: when every message was handed over, and when the last
// reachable official was informed.
//
// An hour does not fit a benchmark: the whole system runs 20 times faster
// — rates ×20, every delay (ladder, retries, the officials' replies, ring
// and speech times) ÷20 — and the figures are given back in real minutes.
//
//	go test ./internal/app -run '^$' -bench Escalation708 -benchtime 1x
func BenchmarkEscalation708(b *testing.B) {
	const k = 20 // time compression
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "ladder.yaml"), fmt.Sprintf(`id: bench
title: Alerte
audience: {everyone: true}
deadline: %s
message: "Alerte de test pour {{.Commune}}."
ladder:
  - {after: 0s, channel: sms, targets: [mobile], retries: 1, retry_after: %s}
  - {after: %s, channel: voice, targets: [mobile, landline], retries: 1, retry_after: %s}
  - {after: %s, channel: manual}
`, time.Hour/k, tocsin.DefaultSMSRetryDelay/k, 10*time.Minute/k, tocsin.DefaultVoiceRetryDelay/k, 30*time.Minute/k))
	profile := twiliosim.Profile{
		Mix: []twiliosim.Share{
			{Weight: 70, Persona: twiliosim.Persona{Behaviour: twiliosim.Reply, Delay: twiliosim.Range{Min: 20 * time.Second, Max: 5 * time.Minute}}},
			{Weight: 20, Persona: twiliosim.Persona{Behaviour: twiliosim.Silent, Call: twiliosim.Answer, AnswerAfter: twiliosim.Range{Min: 5 * time.Second, Max: 20 * time.Second}}},
			{Weight: 10, Persona: twiliosim.Persona{Behaviour: twiliosim.Silent, Call: twiliosim.NoAnswer}},
		},
		Delivery:   twiliosim.Range{Min: 2 * time.Second, Max: 10 * time.Second},
		Dial:       twiliosim.Fixed(2 * time.Second),
		DelayScale: 1.0 / k,
	}
	a := mustRunApp(b, app.Config{PlaybooksDir: dir, SimulatorProfile: &profile, SMSRate: 10 * k, CallRate: 1 * k, MaxCalls: 5})
	officials := make([]tocsin.Official, 708)
	for i := range officials {
		officials[i] = mayorOf(fmt.Sprintf("m%03d", i), mobile(fictionMobile(i)))
		if i%3 == 0 {
			officials[i].Numbers = append(officials[i].Numbers, landline(fictionLandline(i)))
		}
	}
	if err := a.Store().ReplaceOfficials(b.Context(), officials); err != nil {
		b.Fatal(err)
	}
	var v view
	if st := api(b, a, "POST", "/api/v1/activations", map[string]any{"playbook": "bench", "exercise": true}, &v); st != http.StatusCreated {
		b.Fatalf("create: %d", st)
	}
	start := v.ActivatedAt
	for {
		time.Sleep(200 * time.Millisecond)
		api(b, a, "GET", "/api/v1/activations/"+v.ID, nil, &v)
		if time.Since(start) > 90*time.Minute/k || v.Summary.Informed+v.Summary.ToCall == v.Summary.Targeted && v.Summary.Informed > 0 && allSettled(&v) {
			break
		}
	}
	var smsDone, lastInformed time.Time
	for _, r := range v.Recipients {
		for _, at := range r.Attempts {
			if at.Rung == 0 && at.CreatedAt.After(smsDone) {
				smsDone = at.CreatedAt
			}
		}
		if r.InformedAt != nil && r.InformedAt.After(lastInformed) {
			lastInformed = *r.InformedAt
		}
	}
	real := func(t time.Time) float64 { return t.Sub(start).Minutes() * k }
	fc := slices.IndexFunc(v.Forecast.Rungs, func(f struct {
		Channel     tocsin.Channel `json:"channel"`
		DoneSeconds float64        `json:"done_seconds"`
	}) bool {
		return f.Channel == tocsin.Voice
	})
	b.ReportMetric(v.Forecast.Rungs[0].DoneSeconds/60*k, "sms_forecast_min")
	b.ReportMetric(real(smsDone), "sms_handed_min")
	b.ReportMetric(v.Forecast.Rungs[fc].DoneSeconds/60*k, "calls_forecast_min")
	b.ReportMetric(real(lastInformed), "last_informed_min")
	b.ReportMetric(float64(v.Summary.Informed), "informed")
	b.ReportMetric(float64(v.Summary.ToCall), "to_call")
}

// allSettled reports whether nothing is under way any more.
func allSettled(v *view) bool {
	for _, r := range v.Recipients {
		if r.InformedAt != nil {
			continue
		}
		for _, at := range r.Attempts {
			if !at.Status.Final() && at.Status != tocsin.AttemptCompleted {
				return false
			}
		}
	}
	return true
}
