package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/syslog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/prefecture76/tocsin/internal/audit"
)

// DefaultAuditCheckpointEvery is how often a replica signs a checkpoint of
// the audit trail's head, when the head moved since its last one.
const DefaultAuditCheckpointEvery = 5 * time.Minute

// DefaultAuditCheckpointsFile is the checkpoint file's name in the data
// folder, unless Config.AuditCheckpoints names another.
const DefaultAuditCheckpointsFile = "audit-checkpoints.jsonl"

// openAnchor opens this replica's checkpoint file and sinks when a signing
// key or public keys are configured; nil otherwise: the trail is then not
// anchored.
func (a *App) openAnchor() (*audit.Anchor, error) {
	cfg := &a.cfg
	if cfg.AuditSigningKey == nil && len(cfg.AuditPublicKeys) == 0 {
		return nil, nil
	}
	anchor := &audit.Anchor{Keys: audit.NewKeyring(cfg.AuditPublicKeys...)}
	if cfg.AuditSigningKey != nil {
		anchor.Signer = audit.NewSigner(cfg.AuditSigningKey)
		anchor.Keys[anchor.Signer.KeyID()] = anchor.Signer.Public()
	}
	path := cfg.AuditCheckpoints
	if path == "" {
		path = filepath.Join(cfg.DataDir, DefaultAuditCheckpointsFile)
	}
	f, err := audit.OpenCheckpointFile(path)
	if err != nil {
		return nil, err
	}
	anchor.File = f
	if cfg.AuditCheckpointSyslog != "" && anchor.Signer != nil {
		w, err := dialSyslog(cfg.AuditCheckpointSyslog)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("audit checkpoints to syslog %s: %w", cfg.AuditCheckpointSyslog, err)
		}
		a.syslog = w
		anchor.Sinks = append(anchor.Sinks, func(c audit.Checkpoint) error {
			b, _ := json.Marshal(c)
			return w.Notice(string(b))
		})
	}
	keyID := ""
	if anchor.Signer != nil {
		keyID = anchor.Signer.KeyID()
	}
	a.log.Info("audit trail anchored", "checkpoints", path, "signing_key", keyID, "public_keys", len(anchor.Keys))
	return anchor, nil
}

// dialSyslog connects to the syslog daemon of addr: "local" (the
// machine's), udp://host:port, tcp://host:port, unix:///path or
// unixgram:///path.
func dialSyslog(addr string) (*syslog.Writer, error) {
	const prio, tag = syslog.LOG_NOTICE | syslog.LOG_AUTHPRIV, "tocsin-audit"
	if addr == "local" {
		return syslog.New(prio, tag)
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "udp", "tcp":
		return syslog.Dial(u.Scheme, u.Host, prio, tag)
	case "unix", "unixgram":
		return syslog.Dial(u.Scheme, u.Path, prio, tag)
	}
	return nil, fmt.Errorf("%q: local, udp://host:port, tcp://host:port, unix:///path or unixgram:///path expected", addr)
}

// checkpointAuditTrail signs a checkpoint of the trail's head at start,
// then every AuditCheckpointEvery when the head moved, into this
// replica's own file, until ctx ends. Every replica does, leader or not:
// each keeps its own record of the trail, out of etcd's reach. Wall-clock
// time: it is housekeeping.
func (a *App) checkpointAuditTrail(ctx context.Context) {
	if a.audit.Anchor == nil || a.audit.Anchor.Signer == nil {
		return
	}
	every := a.cfg.AuditCheckpointEvery
	if every <= 0 {
		every = DefaultAuditCheckpointEvery
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if _, err := a.audit.Checkpoint(ctx, true); err != nil && ctx.Err() == nil {
			a.log.Warn("audit checkpoint not made", "err", err)
			t.Reset(min(time.Minute, every))
			continue
		}
		t.Reset(every)
	}
}

// CheckpointFile returns the path of this replica's checkpoint file, ""
// when the trail is not anchored.
func (a *App) CheckpointFile() string {
	if a.audit == nil || a.audit.Anchor == nil || a.audit.Anchor.File == nil {
		return ""
	}
	return a.audit.Anchor.File.Path()
}
