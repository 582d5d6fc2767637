package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// CheckpointFile is an append-only file of checkpoints, one JSON line
// each, on the replica's own disk: etcd does not hold it, so whoever
// rewrites the trail in etcd does not rewrite it.
type CheckpointFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// OpenCheckpointFile opens path for appending, creating it and its folder.
func OpenCheckpointFile(path string) (*CheckpointFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("checkpoint file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("checkpoint file: %w", err)
	}
	// A line cut short by a crash is ended, so that the next checkpoint
	// starts a line of its own; verify reports the cut one as unreadable.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, fmt.Errorf("checkpoint file: %w", err)
			}
		}
	}
	return &CheckpointFile{path: path, f: f}, nil
}

// Path returns the file's path.
func (f *CheckpointFile) Path() string { return f.path }

// WriteCheckpoint appends c as one line and syncs it to disk before
// returning.
func (f *CheckpointFile) WriteCheckpoint(c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("sync checkpoint: %w", err)
	}
	return nil
}

// Open opens the file for reading.
func (f *CheckpointFile) Open() (io.ReadCloser, error) { return os.Open(f.path) }

// Close closes the file.
func (f *CheckpointFile) Close() error { return f.f.Close() }

// InvalidCheckpoint is a line of a checkpoint file that is not a
// checkpoint signed by a known key.
type InvalidCheckpoint struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"` // in French
}

// AnchorReport says what the checkpoints showed of the trail.
type AnchorReport struct {
	// Anchored is true when at least one signed checkpoint was checked.
	Anchored bool `json:"anchored"`
	// Warning says, in French, why the trail is not anchored.
	Warning string `json:"warning,omitempty"`
	// Checkpoints counts the valid checkpoints read (lines).
	Checkpoints int `json:"checkpoints"`
	// Latest is the valid checkpoint of the highest entry.
	Latest *Checkpoint `json:"latest,omitempty"`
	// Invalid names (up to 100 of InvalidCount) the lines that are not
	// checkpoints signed by a known key: forged, damaged, or signed by a
	// key verify was not given.
	Invalid      []InvalidCheckpoint `json:"invalid,omitempty"`
	InvalidCount int                 `json:"invalid_count"`
}

// maxListed bounds the lines of a report that are named.
const maxListed = 100

// anchored is a distinct head a checkpoint signed, and the earliest time
// one did.
type anchored struct {
	seq  uint64
	head string
	at   time.Time
}

// AnchorCheck compares a trail, entry by entry in order, with signed
// checkpoints: each entry a checkpoint names must still have the hash it
// signed, and the trail must reach the highest. Memory: one record per
// distinct head checkpointed.
type AnchorCheck struct {
	report AnchorReport
	bySeq  map[uint64][]anchored
	sorted []anchored // by seq
	max    *anchored
	broken bool
}

// NewAnchorCheck reads checkpoints from r, one JSON line each (what comes
// before the JSON on a line, a syslog prefix, is ignored), and keeps
// those whose signature keys verifies; the others are reported invalid.
// r may be nil: the trail is then reported not anchored.
func NewAnchorCheck(keys Keyring, r io.Reader) (*AnchorCheck, error) {
	a := &AnchorCheck{bySeq: map[uint64][]anchored{}}
	switch {
	case len(keys) == 0:
		a.report.Warning = "journal non ancré : aucune clé publique de signature configurée, les points de contrôle ne sont pas vérifiés"
		return a, nil
	case r == nil:
		a.report.Warning = "journal non ancré : aucun fichier de points de contrôle"
		return a, nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		// A line from syslog carries its prefix (time, host, tag) first.
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '{'); i > 0 {
			text = text[i:]
		}
		var c Checkpoint
		if err := json.Unmarshal(text, &c); err != nil {
			a.invalid(line, "ligne illisible : un point de contrôle JSON attendu")
			continue
		}
		switch err := keys.Check(&c); {
		case errors.Is(err, ErrUnknownKey):
			a.invalid(line, fmt.Sprintf("%s : clé %q inconnue (donnez sa clé publique)", c.String(), c.Key))
			continue
		case err != nil:
			a.invalid(line, fmt.Sprintf("%s : signature invalide (ligne falsifiée ou abîmée)", c.String()))
			continue
		}
		a.report.Checkpoints++
		a.keep(c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	if a.report.Checkpoints == 0 {
		a.report.Warning = "journal non ancré : aucun point de contrôle signé valide"
	} else {
		a.report.Anchored = true
	}
	slices.SortFunc(a.sorted, func(x, y anchored) int { return cmp.Compare(x.seq, y.seq) })
	return a, nil
}

func (a *AnchorCheck) invalid(line int, reason string) {
	if a.report.InvalidCount++; len(a.report.Invalid) < maxListed {
		a.report.Invalid = append(a.report.Invalid, InvalidCheckpoint{Line: line, Reason: reason})
	}
}

// keep records c's head, once per distinct head, with the earliest time.
func (a *AnchorCheck) keep(c Checkpoint) {
	if a.report.Latest == nil || c.Seq > a.report.Latest.Seq || (c.Seq == a.report.Latest.Seq && c.At.After(a.report.Latest.At)) {
		cc := c
		a.report.Latest = &cc
	}
	hs := a.bySeq[c.Seq]
	for i := range hs {
		if hs[i].head == c.Head {
			if c.At.Before(hs[i].at) {
				hs[i].at = c.At
			}
			return
		}
	}
	a.bySeq[c.Seq] = append(hs, anchored{seq: c.Seq, head: c.Head, at: c.At})
	a.sorted = append(a.sorted, anchored{seq: c.Seq, head: c.Head, at: c.At})
}

// Add checks the next entry of the trail, in order, and returns where it
// differs from a checkpoint: the entry whose hash a checkpoint signed
// otherwise, with the run of entries the rewrite started in.
func (a *AnchorCheck) Add(e *tocsin.AuditEntry) *Break {
	if a.broken {
		return nil
	}
	for _, c := range a.bySeq[e.Seq] {
		if c.head == e.Hash {
			continue
		}
		a.broken = true
		// Every checkpoint below this one matched; those signed before
		// this one were signed before the rewrite, so the trail is
		// intact up to the highest of them.
		var from uint64 = 1
		for _, p := range a.sorted {
			if p.seq < e.Seq && !p.at.After(c.at) {
				from = p.seq + 1
			}
		}
		when := tocsin.ParisTime(c.at) + " (heure de Paris)"
		if from == e.Seq {
			return &Break{Seq: e.Seq, Reason: fmt.Sprintf("l'entrée n° %d a été réécrite : son empreinte n'est plus celle qu'un point de contrôle a signée le %s, et toutes les empreintes suivantes ont été recalculées", e.Seq, when)}
		}
		return &Break{Seq: e.Seq, Reason: fmt.Sprintf("l'entrée n° %d n'a plus l'empreinte qu'un point de contrôle a signée le %s : le journal a été réécrit à partir d'une entrée entre la n° %d et la n° %d (empreintes recalculées)", e.Seq, when, from, e.Seq)}
	}
	return nil
}

// Finish checks that the trail, of n entries, reaches every checkpoint.
func (a *AnchorCheck) Finish(n uint64) *Break {
	if a.broken || len(a.sorted) == 0 {
		return nil
	}
	last := a.sorted[len(a.sorted)-1]
	if last.seq <= n {
		return nil
	}
	return &Break{Seq: n + 1, Reason: fmt.Sprintf("les entrées n° %d à %d manquent : un point de contrôle signé le %s en comptait %d, le journal n'en a plus que %d (tronqué, dernière entrée ramenée en arrière)",
		n+1, last.seq, tocsin.ParisTime(last.at)+" (heure de Paris)", last.seq, n)}
}

// Report returns what the checkpoints showed.
func (a *AnchorCheck) Report() AnchorReport { return a.report }

// Anchor is where a log's checkpoints go and the keys that verify them.
type Anchor struct {
	// Signer signs this replica's checkpoints; nil: it makes none.
	Signer *Signer
	// Keys verify checkpoints: the signer's, and those of earlier keys
	// after a rotation.
	Keys Keyring
	// File is this replica's checkpoint file, written and read back by
	// verify; nil: none.
	File *CheckpointFile
	// Sinks receive each checkpoint besides the file (syslog), outside
	// the caller's path: a checkpoint made while the previous one is
	// still being sent is not sent to them (the file has it). Their
	// errors are logged, not returned.
	Sinks []func(Checkpoint) error

	mu      sync.Mutex
	latest  *Checkpoint
	sending sync.Mutex // held while the sinks are sent a checkpoint
}

// Latest returns the last checkpoint this replica made, nil before one.
func (a *Anchor) Latest() *Checkpoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.latest == nil {
		return nil
	}
	c := *a.latest
	return &c
}

// ErrNoSigningKey is returned by Checkpoint when no signing key is
// configured.
var ErrNoSigningKey = errors.New("aucune clé de signature configurée : le journal n'est pas ancré")

// Checkpoint signs the trail's current head and writes it to the file
// (synced) and the other sinks. With changedOnly, a head already
// checkpointed by this replica is not signed again. It returns the
// checkpoint of the head, new or not.
func (l *Log) Checkpoint(ctx context.Context, changedOnly bool) (Checkpoint, error) {
	a := l.Anchor
	if a == nil || a.Signer == nil {
		return Checkpoint{}, ErrNoSigningKey
	}
	head, err := l.store.AuditHead(ctx)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit head: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if changedOnly && a.latest != nil && a.latest.Seq == head.Seq && a.latest.Head == head.Hash {
		l.checkpointed(*a.latest) // the head is still anchored
		return *a.latest, nil
	}
	c := a.Signer.Sign(head.Seq, head.Hash, l.now())
	if a.File != nil {
		if err := a.File.WriteCheckpoint(c); err != nil {
			return Checkpoint{}, err
		}
	}
	l.toSinks(c)
	a.latest = &c
	l.checkpointed(c)
	return c, nil
}

// toSinks sends c to the anchor's sinks in the background, unless they
// are still busy with an earlier checkpoint: a syslog server that stalls
// holds up neither exports nor the file.
func (l *Log) toSinks(c Checkpoint) {
	a := l.Anchor
	if len(a.Sinks) == 0 {
		return
	}
	if !a.sending.TryLock() {
		l.log.Warn("checkpoint not sent to syslog: the previous one is still being sent", "seq", c.Seq)
		return
	}
	go func() {
		defer a.sending.Unlock()
		for _, sink := range a.Sinks {
			if err := sink(c); err != nil {
				l.log.Warn("checkpoint not sent to a sink", "err", err)
			}
		}
	}()
}

// CheckpointObserver, when an Observer also implements it, is told each
// time the head is found anchored: a checkpoint made, or the last one
// still the head's.
type CheckpointObserver interface {
	Checkpointed(c Checkpoint)
}

func (l *Log) checkpointed(c Checkpoint) {
	if o, ok := l.Observer.(CheckpointObserver); ok {
		o.Checkpointed(c)
	}
}

// anchorCheck returns the check of the trail against this replica's
// checkpoint file.
func (l *Log) anchorCheck() (*AnchorCheck, error) {
	a := l.Anchor
	switch {
	case a == nil:
		return NewAnchorCheck(nil, nil)
	case a.File == nil:
		return NewAnchorCheck(a.Keys, nil)
	}
	r, err := a.File.Open()
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer r.Close()
	return NewAnchorCheck(a.Keys, r)
}
