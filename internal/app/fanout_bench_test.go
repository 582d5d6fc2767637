package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// BenchmarkFanOut10000 dispatches 10,000 officials against the
// unthrottled simulator with a 3-member etcd cluster on loopback: the time
// from the activation request to the simulator holding every message, from
// the request to the first message, and how long the request takes.
// Target: under 10 s. BenchmarkFirstSend measures the first send over many
// activations.
//
//	go test ./internal/app -run '^$' -bench FanOut10000 -benchtime 1x
func BenchmarkFanOut10000(b *testing.B) {
	const n = 10000
	a := unthrottledApp(b, n, twiliosim.Range{Min: time.Second, Max: 5 * time.Second})
	var all, first, created, recordedToFirst []time.Duration
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		before := a.Simulator().Stats().Messages
		cpuBefore := cpuTime()
		start := time.Now()
		isRecorded := recorded(b, a)
		firstSent := firstSend(a, before, start)
		var v view
		if st := api(b, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != http.StatusCreated {
			b.Fatalf("create: %d", st)
		}
		created = append(created, time.Since(start))
		for {
			got := a.Simulator().Stats().Messages - before
			if got >= n {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("only %d of %d messages after 5 min", got, n)
			}
			time.Sleep(2 * time.Millisecond)
		}
		all = append(all, time.Since(start))
		f, rec := <-firstSent, <-isRecorded
		first = append(first, f)
		recordedToFirst = append(recordedToFirst, f-rec.Sub(start))
		cpu += cpuTime() - cpuBefore
		b.StopTimer()
		api(b, a, "POST", "/api/v1/activations/"+v.ID+"/close", nil, nil)
		b.StartTimer()
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	sort.Slice(first, func(i, j int) bool { return first[i] < first[j] })
	b.ReportMetric(all[len(all)-1].Seconds(), "worst_all_s")
	b.ReportMetric(first[len(first)-1].Seconds()*1000, "worst_first_ms")
	b.ReportMetric(float64(slices.Max(created).Milliseconds()), "worst_create_ms")
	b.ReportMetric(float64(slices.Max(recordedToFirst).Microseconds())/1000, "worst_recorded_to_first_ms")
	b.ReportMetric(float64(n)/all[len(all)-1].Seconds(), "msgs/s")
	// CPU per message counts the whole process: Tocsin, the simulator and
	// the three etcd members. It varies less than the wall time when other
	// work shares the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*n), "cpu_µs/msg")
}

// cpuTime returns the CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitQuiet returns once the process (Tocsin, the simulator and the etcd
// members) has used less than a tenth of a core for half a second, or
// after 30 s: an activation starts on a quiet replica, not while the
// last one's closing, collection and garbage are still being handled.
func waitQuiet() {
	const window = 500 * time.Millisecond
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		before := cpuTime()
		time.Sleep(window)
		if cpuTime()-before < window/10 {
			return
		}
	}
}

// BenchmarkFirstSend activates a directory of FIRST_SEND_N officials
// (default 708, the demo's size) again and again with a 3-member etcd
// cluster on loopback, and measures the time from the activation request
// to the first message at the simulator: median and p99 (target: p99
// under 250 ms at any size).
//
//	go test ./internal/app -run '^$' -bench FirstSend -benchtime 40x
//	FIRST_SEND_N=35000 go test ./internal/app -run '^$' -bench FirstSend -benchtime 20x -timeout 30m
//
// Up to 1,000 officials, each activation's fan-out ends before the next
// is measured; above, each is closed once its first message has left,
// and the next waits until its creation has written every recipient and
// the process is quiet again.
func BenchmarkFirstSend(b *testing.B) {
	n := 708
	if v := os.Getenv("FIRST_SEND_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("FIRST_SEND_N=%q: want a number of officials", v)
		}
	}
	a := unthrottledApp(b, n, twiliosim.Range{Min: 100 * time.Millisecond, Max: 500 * time.Millisecond})
	// The duty officer previews before launching: the replica has the
	// directory decoded, as it has long before a crisis.
	if st := api(b, a, "POST", "/api/v1/activations/preview", map[string]any{"playbook": "test-tous"}, nil); st != http.StatusOK {
		b.Fatalf("preview: %d", st)
	}
	var first []time.Duration
	b.ResetTimer()
	for range b.N {
		before := a.Simulator().Stats().Messages
		start := time.Now()
		firstSent := firstSend(a, before, start)
		var v view
		if st := api(b, a, "POST", "/api/v1/activations", map[string]any{"playbook": "test-tous", "exercise": true}, &v); st != http.StatusCreated {
			b.Fatalf("create: %d", st)
		}
		first = append(first, <-firstSent)
		b.StopTimer()
		if n <= 1000 {
			// Let this one's fan-out and status callbacks end before the
			// next is measured.
			for a.Simulator().Stats().Messages-before < n && time.Since(start) < time.Minute {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(time.Second)
		}
		api(b, a, "POST", "/api/v1/activations/"+v.ID+"/close", nil, nil)
		testingutil.Poll(b, 5*time.Minute, 100*time.Millisecond, "the creation to end", func() bool {
			c, _, err := a.Store().Creation(b.Context(), v.ID)
			return err == nil && c == nil
		})
		waitQuiet()
		b.StartTimer()
	}
	slices.Sort(first)
	b.ReportMetric(float64(first[len(first)/2].Microseconds())/1000, "median_first_ms")
	b.ReportMetric(float64(first[(len(first)*99)/100].Microseconds())/1000, "p99_first_ms")
	b.ReportMetric(float64(first[len(first)-1].Microseconds())/1000, "worst_first_ms")
}

// firstSend reports how long after start the simulator holds more than
// before messages. It watches from now: the first message may come before
// the request that created the activation has its answer.
func firstSend(a *app.App, before int, start time.Time) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		for a.Simulator().Stats().Messages == before && time.Since(start) < 5*time.Minute {
			time.Sleep(100 * time.Microsecond)
		}
		out <- time.Since(start)
	}()
	return out
}

// recorded reports when the next activation is recorded: its open marker,
// written with the activation record once every recipient is stored.
func recorded(b *testing.B, a *app.App) <-chan time.Time {
	rev, err := a.Store().Revision(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	out := make(chan time.Time, 1)
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	wch := a.Store().Client().Watch(ctx, "/tocsin/open/", clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithFilterDelete())
	go func() {
		defer cancel()
		for wr := range wch {
			if len(wr.Events) > 0 {
				out <- time.Now()
				return
			}
		}
		out <- time.Time{}
	}()
	return out
}

// unthrottledApp runs the app over a 3-member etcd cluster on loopback,
// against the simulator unthrottled with silent officials whose SMS are
// delivered after delivery, with a directory of n mayors.
func unthrottledApp(b *testing.B, n int, delivery twiliosim.Range) *app.App {
	cluster := testingutil.MustStartCluster(b, 3)
	profile := twiliosim.Profile{Default: twiliosim.Persona{Behaviour: twiliosim.Silent}, Delivery: delivery}
	a := mustRunApp(b, app.Config{EtcdEndpoints: cluster.Endpoints(), SimulatorProfile: &profile, SMSRate: 1e6, Workers: 64})
	officials := make([]tocsin.Official, n)
	for i := range officials {
		officials[i] = mayorOf(fmt.Sprintf("m%05d", i), mobile(fmt.Sprintf("+336399%05d", i)))
	}
	if err := a.Store().ReplaceOfficials(b.Context(), officials); err != nil {
		b.Fatal(err)
	}
	return a
}
