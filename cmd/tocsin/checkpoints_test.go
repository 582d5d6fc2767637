package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func TestAuditKeygenWritesAPrivateKeyOnlyItsOwnerReads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "signature.key")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "keygen", "-o", file}, env(nil), &out, &out); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out.String())
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, mode %v; want 0600", err, st.Mode())
	}
	key, _ := os.ReadFile(file)
	pubLine, _ := os.ReadFile(file + ".pub")
	priv, err := audit.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := audit.ParsePublicKey(string(pubLine))
	if err != nil || !pub.Equal(priv.Public()) || !strings.Contains(out.String(), strings.TrimSpace(string(pubLine))) ||
		!strings.Contains(out.String(), audit.KeyID(pub)) {
		t.Fatalf("public key %q (%v) printed as %q; want the private key's, with its id", pubLine, err, out.String())
	}
	if strings.Contains(out.String(), "PRIVATE") {
		t.Error("keygen printed the private key")
	}
	out.Reset()
	err = run(context.Background(), []string{"audit", "keygen", "-o", file}, env(nil), &out, &out)
	if again, _ := os.ReadFile(file); err == nil || !bytes.Equal(again, key) || !strings.Contains(err.Error(), "existe déjà") {
		t.Errorf("keygen over an existing key: %v; want it refused and the key kept", err)
	}
}

// rewriteTrail replaces the entries of a's trail from seq on by entries
// recomputed from the one before, and moves the head: the rewrite etcd's
// own record of the keys does not betray.
func rewriteTrail(t *testing.T, a *app.App, seq uint64) {
	t.Helper()
	entries, _, err := a.Audit().List(t.Context(), audit.Filter{}, 0, 1000)
	if err != nil || uint64(len(entries)) < seq {
		t.Fatalf("trail of %d entries (%v), want at least %d", len(entries), err, seq)
	}
	key := func(n uint64) string { return fmt.Sprintf("/tocsin/audit/e/%020d", n) }
	cli := a.Store().Client()
	if _, err := cli.Delete(t.Context(), key(seq), clientv3.WithRange(key(uint64(len(entries))+1))); err != nil {
		t.Fatal(err)
	}
	head := tocsin.AuditHead{Seq: entries[seq-2].Seq, Hash: entries[seq-2].Hash}
	var ops []clientv3.Op
	for _, e := range entries[seq-1:] {
		e = audit.Seal(tocsin.AuditEntry{At: e.At, Actor: e.Actor, Action: e.Action, Activation: e.Activation, Detail: e.Detail + " "}, head)
		head = tocsin.AuditHead{Seq: e.Seq, Hash: e.Hash}
		b, _ := json.Marshal(e)
		ops = append(ops, clientv3.OpPut(key(e.Seq), string(b)))
	}
	h, _ := json.Marshal(head)
	if _, err := cli.Txn(t.Context()).Then(append(ops, clientv3.OpPut("/tocsin/audit/head", string(h)))...).Commit(); err != nil {
		t.Fatal(err)
	}
}

// An auditor keeps the checkpoint an export carried; the trail is then
// rewritten in etcd from entry n° 2 on, and the replica's own file lost:
// the replica no longer sees it, verify with the auditor's checkpoint
// does, and names the entry.
func TestAuditVerifyWithTheAuditorsCheckpointNamesARewrite(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "keygen", "-o", filepath.Join(dir, "k")}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	replicaFile := filepath.Join(dir, "replica.jsonl")
	a := mustRunServerWith(t, func(cfg *app.Config) {
		if err := auditKeys(cfg, filepath.Join(dir, "k"), "", ""); err != nil {
			t.Fatal(err)
		}
		cfg.AuditCheckpoints = replicaFile
	})
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	for range 3 { // entries: an export is recorded
		out.Reset()
		if err := run(context.Background(), []string{"audit", "export", "--format", "json", "--url", a.URL()}, getenv, &out, &out); err != nil {
			t.Fatalf("export: %v", err)
		}
	}
	var export struct {
		Entries    []tocsin.AuditEntry `json:"entries"`
		Checkpoint *audit.Checkpoint   `json:"checkpoint"`
	}
	if err := json.Unmarshal(out.Bytes(), &export); err != nil || export.Checkpoint == nil || export.Checkpoint.Seq != uint64(len(export.Entries))+1 {
		t.Fatalf("export (%v) carries checkpoint %+v after %d entries; want the head, its own entry included:\n%s", err, export.Checkpoint, len(export.Entries), out.String())
	}
	kept := filepath.Join(dir, "auditeur.jsonl")
	line, _ := json.Marshal(export.Checkpoint)
	os.WriteFile(kept, append(line, '\n'), 0o600)
	verify := func(extra ...string) (string, error) {
		out.Reset()
		err := run(context.Background(), append([]string{"audit", "verify", "--url", a.URL()}, extra...), getenv, &out, &out)
		return out.String(), err
	}
	withKept := []string{"--checkpoints", kept, "--public-key", filepath.Join(dir, "k.pub")}
	if got, err := verify(withKept...); err != nil || !strings.Contains(got, "Journal ancré (ce réplica)") ||
		!strings.Contains(got, "Journal ancré (les points de contrôle de "+kept+") : 1 point(s)") {
		t.Fatalf("verify of a clean trail: %v\n%s", err, got)
	}

	rewriteTrail(t, a, 2)
	if got, err := verify(); !errors.Is(err, errChainBroken) || !strings.Contains(got, "ALTÉRÉ à l'entrée n° ") {
		t.Errorf("the replica's verify after a rewrite: %v\n%s", err, got)
	}
	if got, err := verify(withKept...); !errors.Is(err, errChainBroken) || strings.Count(got, "ALTÉRÉ à l'entrée n° ") != 2 {
		t.Errorf("verify with the auditor's checkpoint, the replica finding the rewrite too: %v; want both to say so\n%s", err, got)
	}
	os.Truncate(replicaFile, 0) // the replica's own record lost too
	got, err := verify(withKept...)
	if !errors.Is(err, errChainBroken) || !strings.Contains(got, "journal non ancré") ||
		!strings.Contains(got, fmt.Sprintf("ALTÉRÉ à l'entrée n° %d (d'après les points de contrôle de %s)", export.Checkpoint.Seq, kept)) ||
		!strings.Contains(got, "entre la n° 1 et la n° ") {
		t.Errorf("verify with the auditor's checkpoint: %v\n%s", err, got)
	}
}

func TestAuditVerifyReportsAForgedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	run(context.Background(), []string{"audit", "keygen", "-o", filepath.Join(dir, "k")}, env(nil), &out, &out)
	a := mustRunServer(t)
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	h, err := a.Store().AuditHead(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := audit.GenerateKey()
	c := audit.NewSigner(other).Sign(h.Seq, h.Hash, a.Store().Now())
	c.Key = audit.KeyID(mustPublic(t, filepath.Join(dir, "k.pub"))) // claims the préfecture's key
	line, _ := json.Marshal(c)
	forged := filepath.Join(dir, "forge.jsonl")
	os.WriteFile(forged, append(line, '\n'), 0o600)
	err = run(context.Background(), []string{"audit", "verify", "--url", a.URL(), "--checkpoints", forged, "--public-key", filepath.Join(dir, "k.pub")},
		getenv, &out, &out)
	if !errors.Is(err, errCheckpointsInvalid) || !strings.Contains(out.String(), "ligne 1 : point de contrôle de l'entrée n° ") ||
		!strings.Contains(out.String(), "signature invalide") {
		t.Errorf("verify with a forged checkpoint: %v\n%s", err, out.String())
	}
}

func mustPublic(t *testing.T, file string) []byte {
	t.Helper()
	b, _ := os.ReadFile(file)
	pub, err := audit.ParsePublicKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// The signing key comes from a file or the environment, one at a time,
// and is never printed: not by -h, not in an error about it.
func TestAuditSigningKeyFromTheEnvironmentIsNeverPrinted(t *testing.T) {
	_, priv, _ := audit.GenerateKey()
	pemKey, _ := audit.MarshalPrivateKey(priv)
	oneLine := strings.Split(string(pemKey), "\n")[1]
	var cfg app.Config
	if err := auditKeys(&cfg, "", oneLine, ""); err != nil || !cfg.AuditSigningKey.Equal(priv) {
		t.Fatalf("key from TOCSIN_AUDIT_KEY on one line: %v", err)
	}
	file := filepath.Join(t.TempDir(), "k")
	os.WriteFile(file, pemKey, 0o600)
	if err := auditKeys(&app.Config{}, file, oneLine, ""); err == nil || strings.Contains(err.Error(), oneLine) {
		t.Errorf("a file and the variable at once: %v; want refused, the key not quoted", err)
	}
	broken := oneLine[:20] + "@@@" + oneLine[23:]
	if err := auditKeys(&app.Config{}, "", broken, ""); err == nil || !strings.Contains(err.Error(), "TOCSIN_AUDIT_KEY") || strings.Contains(err.Error(), oneLine[:20]) {
		t.Errorf("a damaged key: %v; want an error naming the variable, not quoting the key", err)
	}
	var out bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, env(map[string]string{"TOCSIN_AUDIT_KEY": oneLine}), &out, &out)
	if !strings.Contains(out.String(), "-audit-key-file") || strings.Contains(out.String(), oneLine) {
		t.Errorf("serve -h with TOCSIN_AUDIT_KEY set: the flags not listed, or the key printed:\n%s", out.String())
	}
}

// A history export written to a file keeps its signed checkpoint beside
// it, which verify takes as the auditor's.
func TestHistoryExportKeepsItsCheckpointBesideIt(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"audit", "keygen", "-o", filepath.Join(dir, "k")}, env(nil), &out, &out); err != nil {
		t.Fatal(err)
	}
	a := mustRunServerWith(t, func(cfg *app.Config) {
		if err := auditKeys(cfg, filepath.Join(dir, "k"), "", ""); err != nil {
			t.Fatal(err)
		}
		cfg.AuditCheckpoints = filepath.Join(dir, "replica.jsonl")
	})
	getenv := env(map[string]string{"TOCSIN_ADMIN_TOKEN": "jeton-admin"})
	exported := filepath.Join(dir, "historique.jsonl")
	out.Reset()
	if err := run(context.Background(), []string{"history", "export", "-o", exported, "--url", a.URL()}, getenv, &out, &out); err != nil {
		t.Fatalf("export: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), exported+".checkpoint") {
		t.Errorf("export says:\n%s\nwant where its checkpoint was written", out.String())
	}
	out.Reset()
	err := run(context.Background(), []string{"audit", "verify", "--checkpoints", exported + ".checkpoint", "--public-key", filepath.Join(dir, "k.pub"), "--url", a.URL()}, getenv, &out, &out)
	if err != nil {
		t.Errorf("verify against the export's checkpoint: %v\n%s", err, out.String())
	}
}
