package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// anchoredTrail appends n entries to a trail whose log signs a checkpoint
// after each one, into a file of its own.
func anchoredTrail(t *testing.T, n int) (*audit.Log, *etcd.Store, *audit.Signer, string) {
	t.Helper()
	st := testingutil.MustStore(t)
	l := audit.New(st, nil, nil)
	_, key, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "points-de-controle.jsonl")
	f, err := audit.OpenCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	signer := audit.NewSigner(key)
	l.Anchor = &audit.Anchor{Signer: signer, Keys: audit.NewKeyring(signer.Public()), File: f}
	for i := range n {
		if _, err := l.Append(context.Background(), "agent", "test", "", fmt.Sprintf("entrée %d", i+1)); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Checkpoint(context.Background(), true); err != nil {
			t.Fatal(err)
		}
	}
	return l, st, signer, path
}

// rewriteFrom replaces entries from seq on by entries recomputed from
// the one before, their details changed, and moves the head: what
// someone with write access to etcd can do so that the chain and etcd's
// record of each key (written once, in order) still hold.
func rewriteFrom(t *testing.T, l *audit.Log, st *etcd.Store, seq, n int) {
	t.Helper()
	rewrite(t, l, st, seq, n, true)
}

// rewrite is rewriteFrom, the entries deleted first or, without
// deleteFirst, written over in the same single transaction.
func rewrite(t *testing.T, l *audit.Log, st *etcd.Store, seq, n int, deleteFirst bool) {
	cli := st.Client()
	t.Helper()
	entries, _, err := l.List(context.Background(), audit.Filter{}, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	if deleteFirst {
		if _, err := cli.Delete(context.Background(), key(seq), clientv3.WithRange(key(n+1))); err != nil {
			t.Fatal(err)
		}
	}
	head := tocsin.AuditHead{Seq: entries[seq-2].Seq, Hash: entries[seq-2].Hash}
	var ops []clientv3.Op
	for _, e := range entries[seq-1:] {
		e = audit.Seal(tocsin.AuditEntry{At: e.At, Actor: e.Actor, Action: e.Action, Detail: e.Detail + " (réécrite)"}, head)
		head = tocsin.AuditHead{Seq: e.Seq, Hash: e.Hash}
		b, _ := json.Marshal(e)
		ops = append(ops, clientv3.OpPut(key(int(e.Seq)), string(b)))
	}
	h, _ := json.Marshal(head)
	ops = append(ops, clientv3.OpPut("/test/audit/head", string(h)))
	if _, err := cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, l *audit.Log) audit.Result {
	t.Helper()
	res, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Anchor == nil {
		t.Fatal("verify says nothing of the checkpoints")
	}
	return res
}

func TestAnchoredTrailVerifies(t *testing.T) {
	l, _, _, _ := anchoredTrail(t, 4)
	res := verify(t, l)
	if !res.OK || !res.Anchor.Anchored || res.Anchor.Checkpoints != 4 || res.Anchor.Latest == nil || res.Anchor.Latest.Seq != 4 ||
		res.Anchor.InvalidCount != 0 || res.Anchor.Warning != "" {
		t.Fatalf("got %+v, anchor %+v; want 4 entries verified against 4 checkpoints, the latest of n° 4", res, res.Anchor)
	}
}

func TestCheckpointOfAnUnchangedHeadIsNotWrittenAgain(t *testing.T) {
	l, _, _, path := anchoredTrail(t, 2)
	for range 3 {
		if _, err := l.Checkpoint(context.Background(), true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(context.Background(), false); err != nil { // as an export does
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("%d checkpoint lines, want 3 (one per head, and the export's):\n%s", n, b)
	}
}

func TestConsistentRewriteIsNamedByTheCheckpoints(t *testing.T) {
	l, st, _, _ := anchoredTrail(t, 6)
	rewriteFrom(t, l, st, 4, 6)
	unanchored := audit.New(st, nil, nil)
	if res, err := unanchored.Verify(context.Background()); err != nil || !res.OK {
		t.Fatalf("without checkpoints the rewrite should pass unseen (that is the attack); got %+v, %v", res, err)
	}
	res := verify(t, l)
	if res.OK || res.Break == nil || res.Break.Seq != 4 || !strings.Contains(res.Break.Reason, "l'entrée n° 4 a été réécrite") {
		t.Fatalf("got %+v; want the rewrite named at entry n° 4", res)
	}
}

// The same rewrite in one transaction, each entry written over: named at
// its first entry (etcd's record of the key shows it too).
func TestRewriteInOneTransactionIsNamed(t *testing.T) {
	l, st, _, _ := anchoredTrail(t, 6)
	rewrite(t, l, st, 4, 6, false)
	res := verify(t, l)
	if res.OK || res.Break == nil || res.Break.Seq != 4 {
		t.Fatalf("got %+v; want the rewrite named at entry n° 4", res)
	}
}

func TestRewriteBetweenCheckpointsNamesTheRun(t *testing.T) {
	st := testingutil.MustStore(t)
	l := audit.New(st, nil, nil)
	_, k, _ := audit.GenerateKey()
	f, err := audit.OpenCheckpointFile(filepath.Join(t.TempDir(), "cp.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := audit.NewSigner(k)
	l.Anchor = &audit.Anchor{Signer: s, Keys: audit.NewKeyring(s.Public()), File: f}
	for i := range 8 {
		l.Append(context.Background(), "agent", "test", "", fmt.Sprint(i))
		if i == 2 || i == 7 { // checkpoints of n° 3 and n° 8
			if _, err := l.Checkpoint(context.Background(), true); err != nil {
				t.Fatal(err)
			}
		}
	}
	rewriteFrom(t, l, st, 6, 8)
	res := verify(t, l)
	if res.OK || res.Break == nil || res.Break.Seq != 8 || !strings.Contains(res.Break.Reason, "entre la n° 4 et la n° 8") {
		t.Fatalf("got %+v; want n° 8 named, rewritten from an entry between n° 4 and n° 8", res)
	}
}

func TestTruncatedTrailIsNamedByTheCheckpoints(t *testing.T) {
	l, st, _, _ := anchoredTrail(t, 6)
	cli := st.Client()
	entries, _, _ := l.List(context.Background(), audit.Filter{}, 0, 6)
	h, _ := json.Marshal(tocsin.AuditHead{Seq: 4, Hash: entries[3].Hash})
	if _, err := cli.Txn(context.Background()).Then(clientv3.OpDelete(key(5), clientv3.WithRange(key(7))),
		clientv3.OpPut("/test/audit/head", string(h))).Commit(); err != nil {
		t.Fatal(err)
	}
	res := verify(t, l)
	if res.OK || res.Break == nil || res.Break.Seq != 5 || !strings.Contains(res.Break.Reason, "les entrées n° 5 à 6 manquent") {
		t.Fatalf("got %+v; want entries n° 5 to 6 named missing", res)
	}
}

func TestForgedCheckpointLinesAreReported(t *testing.T) {
	l, _, signer, path := anchoredTrail(t, 3)
	_, other, _ := audit.GenerateKey()
	entries, _, _ := l.List(context.Background(), audit.Filter{}, 0, 3)
	forged := signer.Sign(3, entries[2].Hash, time.Now())
	forged.Seq = 2 // the signed line edited: another entry
	unknown := audit.NewSigner(other).Sign(3, entries[2].Hash, time.Now())
	var lines []string
	for _, c := range []audit.Checkpoint{forged, unknown} {
		b, _ := json.Marshal(c)
		lines = append(lines, string(b))
	}
	lines = append(lines, "pas un point de contrôle")
	fa, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fa.WriteString(strings.Join(lines, "\n") + "\n")
	fa.Close()
	res := verify(t, l)
	if res.OK || res.Break != nil || res.Anchor.InvalidCount != 3 || res.Anchor.Checkpoints != 3 {
		t.Fatalf("got %+v, anchor %+v; want the chain intact, 3 valid checkpoints and 3 invalid lines failing verify", res, res.Anchor)
	}
	for i, want := range []string{"ligne 4:signature invalide", "ligne 5:clé \"" + audit.NewSigner(other).KeyID() + "\" inconnue", "ligne 6:illisible"} {
		line, words, _ := strings.Cut(want, ":")
		got := res.Anchor.Invalid[i]
		if fmt.Sprintf("ligne %d", got.Line) != line || !strings.Contains(got.Reason, words) {
			t.Errorf("invalid line %d: %+v; want %s saying %q", i, got, line, words)
		}
	}
}

func TestTrailWithoutKeyIsNotAnchoredButPasses(t *testing.T) {
	l, _ := trail(t, 2)
	res := verify(t, l)
	if !res.OK || res.Anchor.Anchored || !strings.Contains(res.Anchor.Warning, "journal non ancré") {
		t.Fatalf("got %+v, anchor %+v; want a pass with a warning that the trail is not anchored", res, res.Anchor)
	}
	if _, err := l.Checkpoint(context.Background(), true); err != audit.ErrNoSigningKey {
		t.Errorf("checkpoint without a key: %v, want ErrNoSigningKey", err)
	}
}

func TestKeysReadBackAsWritten(t *testing.T) {
	pub, priv, _ := audit.GenerateKey()
	pemKey, err := audit.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := audit.ParsePrivateKey(pemKey)
	if err != nil || !back.Equal(priv) {
		t.Fatalf("private key read back: %v", err)
	}
	body := strings.Join(strings.Split(string(pemKey), "\n")[1:2], "")
	if oneLine, err := audit.ParsePrivateKey([]byte(body)); err != nil || !oneLine.Equal(priv) {
		t.Errorf("private key from its base64 body on one line: %v", err)
	}
	if p, err := audit.ParsePublicKey(audit.FormatPublicKey(pub)); err != nil || !p.Equal(pub) {
		t.Errorf("public key read back: %v", err)
	}
	if _, err := audit.ParsePrivateKey([]byte("n'importe quoi")); err == nil || strings.Contains(err.Error(), "importe") {
		t.Errorf("bad private key: %v; want an error that does not quote it", err)
	}
}

// A replica that died in the middle of a line: the next checkpoint starts
// a line of its own, and only the cut one is reported.
func TestCheckpointAfterALineCutShortStartsItsOwnLine(t *testing.T) {
	l, st, signer, path := anchoredTrail(t, 2)
	l.Anchor.File.Close()
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, []byte(`{"seq":3,"head":"ab`)...), 0o640)
	f, err := audit.OpenCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	l2 := audit.New(st, nil, nil)
	l2.Anchor = &audit.Anchor{Signer: signer, Keys: audit.NewKeyring(signer.Public()), File: f}
	l2.Append(context.Background(), "agent", "test", "", "entrée 3")
	if _, err := l2.Checkpoint(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	res := verify(t, l2)
	if res.Anchor.Checkpoints != 3 || res.Anchor.InvalidCount != 1 || res.Anchor.Invalid[0].Line != 3 {
		t.Errorf("anchor %+v; want 3 checkpoints and line 3, the cut one, unreadable", res.Anchor)
	}
}
