//go:build scale

package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// TestScale measures one activation to every official of a directory of
// N, on separate processes: three etcd members with fsync, one Tocsin
// replica in Twilio mode and the simulator unthrottled as the provider.
// It prints, for each size, request → first send, all handed over,
// messages per second, Tocsin's CPU per message and peak resident memory,
// and the status callbacks that failed. It asserts only what must hold at
// any speed: every official got exactly one SMS, and no callback failed.
//
//	go test -tags scale -run TestScale -v -timeout 30m ./test/chaos
//
// SCALE_N (default 708,10000) lists the sizes; SCALE_REPLY (default 0)
// is the share of officials who reply, 5 to 20 s after delivery;
// SCALE_REPLICAS (default 1) the Tocsin replicas; SCALE_WORKERS (default
// 64) the sends in flight; SCALE_FSYNC=0 runs etcd without fsync.
func TestScale(t *testing.T) {
	sizes := []int{708, 10000}
	if s := os.Getenv("SCALE_N"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("SCALE_N: %q is not a positive number", f)
			}
			sizes = append(sizes, n)
		}
	}
	reply := envFloat(t, "SCALE_REPLY", 0)
	t.Logf("| officials | request → first send | request answered | all handed over | messages/s | CPU per message: Tocsin, etcd (3 members), simulator | machine busy | Tocsin peak RSS | callbacks failed | replies | etcd database: file, in use, in use after compaction |")
	t.Logf("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			r := scaleRun(t, n, reply)
			perMsg := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }
			t.Logf("| %d | %d ms | %d ms | %.2f s | %.0f | %.2f, %.2f, %.2f ms | %.0f %% of %d cores | %d MiB | %d of %d | %d | %d, %d, %d MiB |",
				n, r.firstSend.Milliseconds(), r.answered.Milliseconds(), r.handedOver.Seconds(), float64(n)/r.handedOver.Seconds(),
				perMsg(r.cpu), perMsg(r.etcdCPU), perMsg(r.simCPU), 100*r.busy, runtime.NumCPU(), r.peakRSS>>20, r.callbackFailures, r.callbacks+r.callbackFailures, r.replies,
				r.dbSize>>20, r.dbInUse>>20, r.dbCompacted>>20)
		})
	}
}

type scaleResult struct {
	firstSend, answered, handedOver time.Duration
	cpu                             time.Duration // Tocsin's, request to the last callback
	etcdCPU, simCPU                 time.Duration // the etcd members' and the simulator's, over the same time
	busy                            float64       // the machine's share of CPU time used, over the same time
	peakRSS                         int64
	dbSize, dbInUse, dbCompacted    int64 // etcd's database: its file, in use, in use after compaction
	callbacks, callbackFailures     int
	replies                         int
}

func scaleRun(t *testing.T, n int, reply float64) scaleResult {
	profile := "delivery: {min: 200ms, max: 1s}\nmix:\n"
	if w := int(reply * 1000); w > 0 {
		profile += fmt.Sprintf("  - {weight: %d, behaviour: reply, delay: {min: 5s, max: 20s}}\n", w)
	}
	if w := 1000 - int(reply*1000); w > 0 {
		profile += fmt.Sprintf("  - {weight: %d, behaviour: silent}\n", w)
	}
	ports, err := etcd.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	debug := fmt.Sprintf("127.0.0.1:%d", ports[0])
	c := startClusterWith(t, clusterOptions{
		replicas: envInt("SCALE_REPLICAS", 1),
		smsRate:  1_000_000,
		profile:  profile,
		empty:    true,
		fsync:    os.Getenv("SCALE_FSYNC") != "0",
		simArgs:  []string{"--mps", "0", "--cps", "0", "--max-calls", "0"},
		env: append([]string{fmt.Sprintf("TOCSIN_WORKERS=%d", envInt("SCALE_WORKERS", 64)), "TOCSIN_DEBUG_LISTEN=" + debug,
			"TOCSIN_LOG_LEVEL=" + map[bool]string{true: "info", false: "warn"}[os.Getenv("SCALE_LOG") != ""]}, memLimit()...),
	})
	officials := make([]tocsin.Official, n)
	for i := range officials {
		officials[i] = tocsin.Official{ID: fmt.Sprintf("m%05d", i), Name: fmt.Sprintf("Maire %05d", i), Role: "maire",
			Commune: "76217", CommuneName: "Dieppe", Arrondissement: "Dieppe",
			Numbers: []tocsin.Number{{E164: fmt.Sprintf("+3363%07d", i), Kind: tocsin.Mobile}}}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := c.store.ReplaceOfficials(ctx, officials); err != nil {
		t.Fatal(err)
	}
	testingutil.Poll(t, 60*time.Second, 500*time.Millisecond, "a leader", func() bool { return c.leader() >= 0 })
	leader := c.replicas[c.leader()]

	// The duty officer previews before launching (the console's first
	// step): the replica has the new directory decoded by then, as it has
	// in production long before a crisis.
	if st := c.api("POST", "/api/v1/activations/preview", map[string]any{"playbook": "chaos"}, nil); st != http.StatusOK {
		t.Fatalf("preview: status %d", st)
	}
	peak := watchPeakRSS(t, leader.pid())
	cpu0, etcd0, sim0, machine0 := procCPU(t, leader.pid()), procsCPU(t, c.etcd), procCPU(t, c.sim.pid()), readMachineCPU(t)
	start := time.Now()
	var created struct {
		ID string `json:"id"`
	}
	if st := c.api("POST", "/api/v1/activations", map[string]any{"playbook": "chaos"}, &created); st != http.StatusCreated {
		t.Fatalf("activation: status %d", st)
	}
	answered := time.Since(start)
	if file := os.Getenv("SCALE_CPU"); file != "" {
		done := make(chan struct{})
		go func() {
			defer close(done)
			saveProfile(t, "http://"+debug+"/debug/pprof/profile?seconds=10", fmt.Sprintf("%s.%d", file, n))
		}()
		defer func() { <-done }()
	}

	var st twiliosim.Stats
	testingutil.Poll(t, 10*time.Minute, 100*time.Millisecond, fmt.Sprintf("%d SMS handed over", n), func() bool {
		st = c.simStats()
		return st.Messages >= n
	})
	if os.Getenv("SCALE_LOG") != "" {
		defer func() {
			b, _ := os.ReadFile(leader.log)
			warnings := map[string]int{}
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
					if _, msg, ok := strings.Cut(line, "msg="); ok {
						msg, _, _ = strings.Cut(strings.TrimPrefix(msg, `"`), `"`)
						if warnings[msg]++; warnings[msg] <= 3 {
							t.Log(line) // the first few in full, with their error
						}
					}
					continue
				}
				if strings.Contains(line, "activation") && !strings.Contains(line, "officials informed") {
					t.Log(line)
				}
			}
			for msg, k := range warnings {
				t.Logf("%d × %s", k, msg)
			}
		}()
	}
	if file := os.Getenv("SCALE_HEAP"); file != "" {
		saveProfile(t, "http://"+debug+"/debug/pprof/heap?gc=1", fmt.Sprintf("%s.%d", file, n))
	}
	// Each message has two status callbacks (sent, delivered) and each
	// reply a webhook: wait until the simulator has posted them all.
	want := 2 * n
	testingutil.Poll(t, 10*time.Minute, 100*time.Millisecond, "the status callbacks", func() bool {
		st = c.simStats()
		return st.Callbacks+st.CallbackFailures >= want+st.Replies && st.Replies >= int(float64(n)*reply*0.99)
	})
	cpu, etcdCPU, simCPU := procCPU(t, leader.pid())-cpu0, procsCPU(t, c.etcd)-etcd0, procCPU(t, c.sim.pid())-sim0
	busy := readMachineCPU(t).busySince(machine0)
	rss := peak()
	size, inUse, compacted := dbSizes(t, c)

	msgs := c.outbound()
	if len(msgs) != n {
		t.Errorf("the simulator recorded %d SMS for %d officials", len(msgs), n)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.To]++
	}
	for to, k := range seen {
		if k != 1 {
			t.Errorf("%s got %d SMS", to, k)
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].DateCreated.Before(msgs[j].DateCreated) })
	if st.CallbackFailures > 0 {
		t.Errorf("%d of %d webhooks failed at the provider", st.CallbackFailures, st.Callbacks+st.CallbackFailures)
	}
	if k := envInt("SCALE_FIRST", 0); k > 0 {
		repeatFirstSend(t, c, created.ID, n, k)
	}
	return scaleResult{
		firstSend:        msgs[0].DateCreated.Sub(start),
		answered:         answered,
		handedOver:       msgs[len(msgs)-1].DateCreated.Sub(start),
		cpu:              cpu,
		etcdCPU:          etcdCPU,
		simCPU:           simCPU,
		busy:             busy,
		peakRSS:          rss,
		dbSize:           size,
		dbInUse:          inUse,
		dbCompacted:      compacted,
		callbacks:        st.Callbacks,
		callbackFailures: st.CallbackFailures,
		replies:          st.Replies,
	}
}

// repeatFirstSend closes the activation measured, then activates the
// same officials k times more, each closed once its first SMS has left,
// and logs the median and the worst of request → first send. Each starts
// once the last one's creation is whole and the machine is quiet.
func repeatFirstSend(t *testing.T, c *cluster, id string, n, k int) {
	var first []time.Duration
	for i := 0; i <= k; i++ {
		if st := c.api("POST", "/api/v1/activations/"+id+"/close", nil, nil); st != http.StatusOK {
			t.Fatalf("close %s: status %d", id, st)
		}
		testingutil.Poll(t, 5*time.Minute, 100*time.Millisecond, "the creation to end", func() bool {
			cr, _, err := c.store.Creation(t.Context(), id)
			return err == nil && cr == nil
		})
		waitMachineQuiet(t)
		if i == k {
			break
		}
		before := c.simStats().Messages
		start := time.Now()
		sent := make(chan time.Duration, 1)
		go func() {
			for c.simStats().Messages == before && time.Since(start) < time.Minute {
				time.Sleep(2 * time.Millisecond)
			}
			sent <- time.Since(start)
		}()
		var created struct {
			ID string `json:"id"`
		}
		if st := c.api("POST", "/api/v1/activations", map[string]any{"playbook": "chaos", "exercise": true}, &created); st != http.StatusCreated {
			t.Fatalf("activation: status %d", st)
		}
		first = append(first, <-sent)
		id = created.ID
	}
	slices.Sort(first)
	t.Logf("%d officials, %d activations: request → first send, median %d ms, worst %d ms",
		n, k, first[len(first)/2].Milliseconds(), first[len(first)-1].Milliseconds())
}

// waitMachineQuiet returns once the machine has been less than a tenth
// busy for a second, or after a minute.
func waitMachineQuiet(t *testing.T) {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		from := readMachineCPU(t)
		time.Sleep(time.Second)
		if readMachineCPU(t).busySince(from) < 0.1 {
			return
		}
	}
}

// memLimit is the replicas' GOMEMLIMIT, from SCALE_GOMEMLIMIT: the
// replicas only, not the etcd members or the simulator.
func memLimit() []string {
	if v := os.Getenv("SCALE_GOMEMLIMIT"); v != "" {
		return []string{"GOMEMLIMIT=" + v}
	}
	return nil
}

// dbSizes returns the largest etcd member's database file and the space
// in use in it, then the space in use once the history is compacted (as
// etcd's --auto-compaction does in production).
func dbSizes(t *testing.T, c *cluster) (size, inUse, compacted int64) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	status := func() (size, inUse, rev int64) {
		for _, ep := range c.cli.Endpoints() {
			st, err := c.cli.Status(ctx, ep)
			if err != nil {
				t.Fatalf("etcd status of %s: %v", ep, err)
			}
			size, inUse, rev = max(size, st.DbSize), max(inUse, st.DbSizeInUse), st.Header.Revision
		}
		return size, inUse, rev
	}
	size, inUse, rev := status()
	if _, err := c.cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	_, compacted, _ = status()
	return size, inUse, compacted
}

// saveProfile writes a replica's profile read from url to file.
func saveProfile(t *testing.T, url, file string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Error(err)
	}
	t.Logf("profile: %s", file)
}

// watchPeakRSS samples a process's resident memory every 50 ms until the
// returned function is called, which returns the highest seen.
func watchPeakRSS(t *testing.T, pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss := procRSS(pid); rss > 0 {
				mu.Lock()
				peak = max(peak, rss)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	stop := func() int64 {
		once.Do(func() { close(done); <-stopped })
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
	t.Cleanup(func() { stop() })
	return stop
}

// procRSS reads a process's resident memory from /proc, 0 when it cannot.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// procCPU reads the CPU time (user and system) a process has used.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// procsCPU is the CPU time of processes together.
func procsCPU(t *testing.T, ps []*proc) time.Duration {
	var sum time.Duration
	for _, p := range ps {
		sum += procCPU(t, p.pid())
	}
	return sum
}

// machineCPU is the machine's CPU time, in ticks, from /proc/stat.
type machineCPU struct{ busy, total int64 }

// readMachineCPU reads the machine's CPU time so far: busy (every state
// but idle and waiting for the disk) and total.
func readMachineCPU(t *testing.T) machineCPU {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var m machineCPU
	fields := strings.Fields(line)[1:]
	for i, f := range fields[:min(len(fields), 8)] { // guest time is counted in user time already
		v, _ := strconv.ParseInt(f, 10, 64)
		m.total += v
		if i != 3 && i != 4 { // idle, iowait
			m.busy += v
		}
	}
	return m
}

// busySince is the share of the machine's CPU time used since from.
func (m machineCPU) busySince(from machineCPU) float64 {
	if m.total == from.total {
		return 0
	}
	return float64(m.busy-from.busy) / float64(m.total-from.total)
}

func envFloat(t *testing.T, name string, def float64) float64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 {
		t.Fatalf("%s: %q is not a share between 0 and 1", name, s)
	}
	return f
}
