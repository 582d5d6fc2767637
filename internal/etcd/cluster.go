package etcd

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
)

// Cluster is a cluster of embedded members on fixed loopback ports, for
// tests: any member can be stopped and started again with its data, so a
// test can take quorum away and give it back.
type Cluster struct {
	mu      sync.Mutex
	cfgs    []EmbeddedConfig
	members []*Embedded     // nil while stopped
	closing []chan struct{} // closed once a stopped member let go of its ports
}

// StartCluster starts n embedded members with data under dir, on free
// loopback ports. It returns once every member is ready.
func StartCluster(dir string, n int) (*Cluster, error) {
	ports, err := FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	c := &Cluster{members: make([]*Embedded, n), closing: make([]chan struct{}, n)}
	var initial []string
	for i := range n {
		name := fmt.Sprintf("m%d", i)
		cfg := EmbeddedConfig{
			Dir:           filepath.Join(dir, name),
			Name:          name,
			ClientURL:     fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			PeerURL:       fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			UnsafeNoFsync: true,
		}
		c.cfgs = append(c.cfgs, cfg)
		initial = append(initial, name+"="+cfg.PeerURL)
	}
	for i := range c.cfgs {
		c.cfgs[i].InitialCluster = strings.Join(initial, ",")
	}
	// Members wait for one another: start them together.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { c.members[i], errs[i] = StartEmbedded(c.cfgs[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Endpoints returns every member's client URL, stopped or not.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, cfg := range c.cfgs {
		out = append(out, cfg.ClientURL)
	}
	return out
}

// Stop stops member i at once, as a crash would: no leadership transfer,
// and it returns without waiting for the member's client connections to
// drain (etcd gives open watch streams seconds to end). Stopping a stopped
// member does nothing.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	m := c.members[i]
	c.members[i] = nil
	c.mu.Unlock()
	if m == nil {
		return
	}
	m.etcd.Server.HardStop()
	done := make(chan struct{})
	c.mu.Lock()
	c.closing[i] = done
	c.mu.Unlock()
	go func() {
		defer close(done)
		m.Close()
	}()
}

// closed waits until a stopped member i let go of its ports and data.
func (c *Cluster) closed(i int) {
	c.mu.Lock()
	done := c.closing[i]
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Restart starts member i again with its data. It returns once the member
// serves, which with quorum lost needs the other members back too: use
// RestartAll with them all then.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	running := c.members[i] != nil
	c.mu.Unlock()
	if running {
		return nil
	}
	c.closed(i)
	m, err := StartEmbedded(c.cfgs[i])
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.members[i] = m
	c.mu.Unlock()
	return nil
}

// RestartAll restarts the given members together (with quorum lost, none
// serves until enough are back) and reports those that did not come back.
func (c *Cluster) RestartAll(members ...int) error {
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for k, i := range members {
		wg.Go(func() {
			if err := c.Restart(i); err != nil {
				errs[k] = fmt.Errorf("restart etcd member %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close stops every member and waits until they let go of their ports
// and data.
func (c *Cluster) Close() {
	for i := range c.members {
		c.Stop(i)
	}
	for i := range c.members {
		c.closed(i)
	}
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
