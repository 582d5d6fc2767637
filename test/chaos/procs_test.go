//go:build chaos || scale

package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

const adminToken = "chaos-admin-token"

// bin is the folder of the binaries built once for the package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tocsin-chaos-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../../cmd/tocsin", "../../cmd/twiliosim", "../../cmd/tocsin-etcd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a child process that can be killed and started again.
type proc struct {
	name string
	args []string
	env  []string
	log  string
	// node, for a Tocsin replica, names it in the election; each start
	// gets its own id, node.<start>, so that the leader key a killed
	// incarnation leaves until its lease expires is not taken for the
	// live one's.
	node   string
	starts int
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
}

// nodeID returns the election id of the running incarnation.
func (p *proc) nodeID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("%s.%d", p.node, p.starts)
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, p.args[0]), p.args[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	if p.node != "" {
		p.mu.Lock()
		p.starts++
		cmd.Env = append(cmd.Env, fmt.Sprintf("TOCSIN_NODE_ID=%s.%d", p.node, p.starts))
		p.mu.Unlock()
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
}

// pid is the running process's id.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// signal sends sig to the running process (SIGSTOP, SIGCONT).
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(sig)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// cluster is the whole system under test.
type cluster struct {
	t        *testing.T
	etcd     []*proc
	replicas []*proc
	urls     []string // each replica's own URL
	sim      *proc
	simURL   string
	front    string // the load balancer in front of the replicas
	cli      *clientv3.Client
	store    *etcd.Store
}

// startCluster starts three etcd members, the simulator and three
// replicas over the demo directory; env adds TOCSIN_* settings to the
// replicas'.
func startCluster(t *testing.T, smsRate int, env ...string) *cluster {
	return startClusterWith(t, clusterOptions{smsRate: smsRate, env: env})
}

// clusterOptions shape a cluster; the zero value of each field keeps the
// chaos tests' setting.
type clusterOptions struct {
	replicas int      // Tocsin replicas: 3 when 0
	smsRate  int      // TOCSIN_SMS_RATE
	env      []string // more TOCSIN_* settings for the replicas
	// profile is the simulator's profile (YAML): officials who reply
	// after 1 to 4 s when empty.
	profile string
	// empty starts the replicas without the demo directory.
	empty bool
	// fsync runs the etcd members with fsync, as production does (the
	// chaos tests skip it unless CHAOS_FSYNC is set).
	fsync bool
	// simArgs are more flags for the simulator.
	simArgs []string
}

// startClusterWith starts three etcd members, the simulator and the
// replicas o asks for.
func startClusterWith(t *testing.T, o clusterOptions) *cluster {
	if o.replicas == 0 {
		o.replicas = 3
	}
	if o.profile == "" {
		o.profile = "default: {behaviour: reply, delay: {min: 1s, max: 4s}}\ndelivery: {min: 200ms, max: 1s}\n"
	}
	dir := t.TempDir()
	ports, err := etcd.FreePorts(12)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t}
	var initial, endpoints []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[2*i+1]))
		endpoints = append(endpoints, fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]))
	}
	for i := range 3 {
		p := &proc{name: fmt.Sprintf("etcd m%d", i), log: filepath.Join(dir, fmt.Sprintf("etcd-%d.log", i)), args: []string{"tocsin-etcd",
			"--name", fmt.Sprintf("m%d", i), "--dir", filepath.Join(dir, fmt.Sprintf("m%d", i)),
			"--client-url", endpoints[i], "--peer-url", fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			"--initial-cluster", strings.Join(initial, ",")}}
		if !o.fsync && os.Getenv("CHAOS_FSYNC") == "" {
			// Faster on a shared disk; CHAOS_FSYNC=1 measures with fsync,
			// as production runs.
			p.args = append(p.args, "--unsafe-no-fsync")
		}
		p.start(t)
		c.etcd = append(c.etcd, p)
	}
	t.Cleanup(func() {
		for _, p := range c.etcd {
			p.kill()
		}
	})
	c.cli, err = etcd.Connect(etcd.ClientConfig{Endpoints: endpoints, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cli.Close() })
	c.store = etcd.NewStore(c.cli, "/tocsin/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for c.store.Ping(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("etcd cluster not ready in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The front: any live replica answers, as behind a load balancer.
	frontPort := ports[6]
	c.front = fmt.Sprintf("http://127.0.0.1:%d", frontPort)
	for i := range o.replicas {
		c.urls = append(c.urls, fmt.Sprintf("http://127.0.0.1:%d", ports[7+i]))
	}
	front := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", frontPort), Handler: http.HandlerFunc(c.forward)}
	go front.ListenAndServe()
	t.Cleanup(func() { front.Close() })

	profile := filepath.Join(dir, "profile.yaml")
	os.WriteFile(profile, []byte(o.profile), 0o600)
	c.simURL = fmt.Sprintf("http://127.0.0.1:%d", ports[10])
	c.sim = &proc{name: "twiliosim", log: filepath.Join(dir, "twiliosim.log"), args: []string{"twiliosim",
		"--listen", strings.TrimPrefix(c.simURL, "http://"), "--profile", profile,
		"--sms-url", c.front + "/twilio/sms/inbound", "--log-level", "warn"}}
	c.sim.args = append(c.sim.args, o.simArgs...)
	c.sim.start(t)
	t.Cleanup(c.sim.kill)

	playbooks := filepath.Join(dir, "playbooks")
	os.MkdirAll(playbooks, 0o700)
	os.WriteFile(filepath.Join(playbooks, "chaos.yaml"), []byte(`id: chaos
title: Alerte chaos
audience: {everyone: true}
message: "Alerte de test pour {{.Commune}}."
`), 0o600)
	for i := range o.replicas {
		p := &proc{name: fmt.Sprintf("tocsin r%d", i), node: fmt.Sprintf("r%d", i), log: filepath.Join(dir, fmt.Sprintf("tocsin-%d.log", i)), args: []string{"tocsin", "serve"},
			env: []string{
				"TOCSIN_LISTEN=" + strings.TrimPrefix(c.urls[i], "http://"),
				"TOCSIN_PUBLIC_URL=" + c.front,
				"TOCSIN_DATA_DIR=" + filepath.Join(dir, fmt.Sprintf("r%d", i)),
				"TOCSIN_ETCD_ENDPOINTS=" + strings.Join(endpoints, ","),
				"TOCSIN_PROVIDER=twilio",
				"TOCSIN_TWILIO_ACCOUNT_SID=" + twiliosim.DefaultAccountSID,
				"TOCSIN_TWILIO_AUTH_TOKEN=" + twiliosim.DefaultAuthToken,
				"TOCSIN_TWILIO_FROM=+33235000076",
				"TOCSIN_TWILIO_API_URL=" + c.simURL,
				"TOCSIN_PLAYBOOKS=" + playbooks,
				"TOCSIN_ADMIN_TOKEN=" + adminToken,
				fmt.Sprintf("TOCSIN_DEMO_DIRECTORY=%t", !o.empty),
				fmt.Sprintf("TOCSIN_SMS_RATE=%d", o.smsRate),
				"TOCSIN_LOG_LEVEL=warn",
			}}
		p.env = append(p.env, o.env...)
		c.replicas = append(c.replicas, p)
		p.start(t)
		// One at a time: the first one loads the directory.
		c.waitReady(i, 60*time.Second)
	}
	t.Cleanup(func() {
		for _, p := range c.replicas {
			p.kill()
		}
	})
	return c
}

// forward sends a request to the first replica that answers.
func (c *cluster) forward(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	for _, u := range c.urls {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, u+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no replica", http.StatusBadGateway)
}

func (c *cluster) waitReady(i int, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(c.urls[i] + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("replica %d not ready after %v", i, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leader returns the index of the leading replica, -1 when none leads.
func (c *cluster) leader() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	id, err := c.store.Leader(ctx)
	if err != nil {
		return -1
	}
	var i, start int
	if n, _ := fmt.Sscanf(id, "r%d.%d", &i, &start); n != 2 || i < 0 || i >= len(c.replicas) {
		return -1
	}
	if c.replicas[i].nodeID() != id {
		return -1 // a killed incarnation's key, until its lease expires
	}
	return i
}

// api calls the front as the administrator.
func (c *cluster) api(method, path string, in, out any) int {
	c.t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.front+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// view is the API's activation.
type view struct {
	tocsin.Activation
	Summary    tocsin.Summary     `json:"summary"`
	Recipients []tocsin.Recipient `json:"recipients"`
	Timeline   []tocsin.Event     `json:"timeline"`
}

func (c *cluster) activation(id string) (*view, bool) {
	var v view
	if c.api("GET", "/api/v1/activations/"+id, nil, &v) != http.StatusOK {
		return nil, false
	}
	return &v, true
}

// outbound returns the simulator's record of the alerts sent: not the
// notices (the confirmation of an acknowledgement, how to confirm), which
// notices returns.
func (c *cluster) outbound() []twiliosim.Message {
	c.t.Helper()
	return alerts(sent(c.messages()))
}

// notices returns the simulator's record of the notices sent.
func (c *cluster) notices() []twiliosim.Message {
	c.t.Helper()
	var out []twiliosim.Message
	for _, m := range sent(c.messages()) {
		if isNotice(m.Body) {
			out = append(out, m)
		}
	}
	return out
}

// isNotice reports whether an SMS is a notice rather than an alert.
func isNotice(body string) bool {
	return strings.Contains(body, "Réception confirmée à") || strings.Contains(body, "Répondez OK à ce numéro")
}

// messages returns the simulator's record of every message, sent and
// received.
func (c *cluster) messages() []twiliosim.Message {
	c.t.Helper()
	return simMessages(c.t, c.simURL, twiliosim.DefaultAccountSID, twiliosim.DefaultAuthToken)
}

// simMessages reads every message a simulator holds, sent and received,
// from its control API.
func simMessages(t *testing.T, url, sid, token string) []twiliosim.Message {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/sim/messages", nil)
	req.SetBasicAuth(sid, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var all []twiliosim.Message
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	return all
}

// alerts keeps the messages that are not notices.
func alerts(ms []twiliosim.Message) []twiliosim.Message {
	return slices.DeleteFunc(ms, func(m twiliosim.Message) bool { return isNotice(m.Body) })
}

// sent keeps the messages sent, not the replies.
func sent(all []twiliosim.Message) []twiliosim.Message {
	var out []twiliosim.Message
	for _, m := range all {
		if m.Direction != twiliosim.DirectionInbound {
			out = append(out, m)
		}
	}
	return out
}

// envInt reads a positive number from the environment, def when unset.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// simStats reads the simulator's counters.
func (c *cluster) simStats() twiliosim.Stats {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.simURL+"/sim/stats", nil)
	req.SetBasicAuth(twiliosim.DefaultAccountSID, twiliosim.DefaultAuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st twiliosim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		c.t.Fatal(err)
	}
	return st
}
