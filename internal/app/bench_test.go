package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// BenchmarkHandover measures the time to hand N SMS to the provider at R
// per second, from the activation request to the simulator holding the
// last message, against the floor N/R. The target is 1.02 × N/R + 1 s.
//
//	go test ./internal/app -run '^$' -bench Handover -benchtime 1x
func BenchmarkHandover(b *testing.B) {
	for _, rate := range []float64{50, 200} {
		b.Run(fmt.Sprintf("708sms_at_%.0f_per_s", rate), func(b *testing.B) { benchHandover(b, 708, rate) })
	}
}

func benchHandover(b *testing.B, n int, rate float64) {
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent},
		Delivery: twiliosim.Range{Min: 100 * time.Millisecond, Max: 2 * time.Second}}
	a := mustRunApp(b, app.Config{SimulatorProfile: &profile, SMSRate: rate})
	mustMayors(b, a, n)
	floor := time.Duration(float64(n) / rate * float64(time.Second))
	var worst time.Duration
	b.ResetTimer()
	for range b.N {
		sent := len(a.Simulator().Messages())
		start := time.Now()
		var v view
		if st := api(b, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != http.StatusCreated {
			b.Fatalf("create: %d", st)
		}
		for len(a.Simulator().Messages()) < sent+n {
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		worst = max(worst, took)
		b.StopTimer()
		api(b, a, "POST", "/api/v1/activations/"+v.ID+"/close", nil, nil)
		b.StartTimer()
	}
	b.ReportMetric(worst.Seconds(), "worst_s")
	b.ReportMetric(floor.Seconds(), "floor_s")
	b.ReportMetric(worst.Seconds()/floor.Seconds(), "worst/floor")
	b.ReportMetric((1.02*floor.Seconds()+1)/worst.Seconds(), "target/worst")
}

// BenchmarkHandoverUnderProviderLimit measures the time to hand 728 SMS to
// a provider that accepts fewer a second than Tocsin is set to send
// (--sms-rate 50): 20/s throughout, then a limit that changes mid-run
// (20/s for 240 messages, 5/s for the next 80, then 40/s). The floor is
// what the provider accepts; the target is 1.1 × floor + 2 s.
//
//	go test ./internal/app -run '^$' -bench HandoverUnderProviderLimit -benchtime 1x
func BenchmarkHandoverUnderProviderLimit(b *testing.B) {
	b.Run("728sms_provider_20_per_s", func(b *testing.B) {
		benchProviderLimit(b, 728, []limitStep{{until: 728, perSecond: 20}})
	})
	b.Run("728sms_provider_20_5_40_per_s", func(b *testing.B) {
		benchProviderLimit(b, 728, []limitStep{{until: 240, perSecond: 20}, {until: 320, perSecond: 5}, {until: 728, perSecond: 40}})
	})
}

// limitStep is the provider's limit until `until` messages were taken.
type limitStep struct {
	until     int
	perSecond float64
}

func benchProviderLimit(b *testing.B, n int, steps []limitStep) {
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent},
		Delivery: twiliosim.Range{Min: 100 * time.Millisecond, Max: 2 * time.Second}}
	a := mustRunApp(b, app.Config{SimulatorProfile: &profile, SMSRate: 50})
	mustMayors(b, a, n)
	var floor time.Duration
	prev := 0
	for _, s := range steps {
		floor += time.Duration(float64(s.until-prev) / s.perSecond * float64(time.Second))
		prev = s.until
	}
	sim := a.Simulator()
	var worst time.Duration
	var refused int
	b.ResetTimer()
	for range b.N {
		sent := len(sim.Messages())
		before := sim.Stats().RateLimited
		sim.SetRateLimits(steps[0].perSecond, 0)
		start := time.Now()
		var v view
		if st := api(b, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != http.StatusCreated {
			b.Fatalf("create: %d", st)
		}
		step := 0
		for {
			got := len(sim.Messages()) - sent
			if got >= n {
				break
			}
			if got >= steps[step].until {
				step++
				sim.SetRateLimits(steps[step].perSecond, 0)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		worst = max(worst, took)
		refused += sim.Stats().RateLimited - before
		b.StopTimer()
		sim.SetRateLimits(0, 0)
		api(b, a, "POST", "/api/v1/activations/"+v.ID+"/close", nil, nil)
		b.StartTimer()
	}
	b.ReportMetric(worst.Seconds(), "worst_s")
	b.ReportMetric(floor.Seconds(), "floor_s")
	b.ReportMetric(worst.Seconds()/floor.Seconds(), "worst/floor")
	b.ReportMetric((1.1*floor.Seconds()+2)/worst.Seconds(), "target/worst")
	b.ReportMetric(float64(refused)/float64(b.N), "429/run")
}
