package app_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/testingutil"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// checkpointsIn reads a checkpoint file.
func checkpointsIn(tb testing.TB, path string) []audit.Checkpoint {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var cs []audit.Checkpoint
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c audit.Checkpoint
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			tb.Fatalf("checkpoint line %q: %v", line, err)
		}
		cs = append(cs, c)
	}
	return cs
}

type anchoredVerify struct {
	OK    bool `json:"ok"`
	Break *struct {
		Seq    uint64 `json:"seq"`
		Reason string `json:"reason"`
	} `json:"break"`
	Anchor audit.AnchorReport `json:"anchor"`
}

// A replica with a signing key checkpoints the trail's head into its own
// file when it moves, every export carries a checkpoint of the head, and
// the API's verify checks the trail against the file: a trail cut in etcd
// with its head moved back is named.
func TestReplicaAnchorsTheTrailInItsOwnFile(t *testing.T) {
	t.Parallel()
	_, key, _ := audit.GenerateKey()
	a := mustRunApp(t, app.Config{AuditSigningKey: key, AuditCheckpointEvery: 20 * time.Millisecond})
	file := a.CheckpointFile()
	if filepath.Base(file) != app.DefaultAuditCheckpointsFile {
		t.Fatalf("checkpoint file %q, want %s in the data folder", file, app.DefaultAuditCheckpointsFile)
	}
	testingutil.Eventually(t, 10*time.Second, "a checkpoint at start", func() bool {
		_, err := os.Stat(file)
		return err == nil && len(checkpointsIn(t, file)) > 0
	})
	for i := range 3 {
		e, err := a.Audit().Append(t.Context(), "agent", "test", "", fmt.Sprint("entrée ", i))
		if err != nil {
			t.Fatal(err)
		}
		testingutil.Eventually(t, 10*time.Second, fmt.Sprintf("a checkpoint of entry n° %d", e.Seq), func() bool {
			cs := checkpointsIn(t, file)
			return cs[len(cs)-1].Seq == e.Seq && cs[len(cs)-1].Head == e.Hash
		})
	}
	req, _ := http.NewRequest("GET", a.URL()+"/api/v1/history", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var carried audit.Checkpoint
	if err := json.Unmarshal([]byte(resp.Header.Get("Tocsin-Audit-Checkpoint")), &carried); err != nil ||
		audit.NewKeyring(key.Public().(ed25519.PublicKey)).Check(&carried) != nil {
		t.Fatalf("history export: checkpoint header %q (%v); want one signed by the replica's key", resp.Header.Get("Tocsin-Audit-Checkpoint"), err)
	}
	head, _ := a.Store().AuditHead(t.Context())
	if carried.Seq != head.Seq || carried.Head != head.Hash {
		t.Errorf("the export carries the checkpoint of n° %d, want the head n° %d (its own entry)", carried.Seq, head.Seq)
	}

	var res anchoredVerify
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK || !res.Anchor.Anchored || res.Anchor.Latest == nil || res.Anchor.Latest.Seq != head.Seq {
		t.Fatalf("verify of the anchored trail: %+v; want ok, anchored up to n° %d", res, head.Seq)
	}
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	if st, page := b.get("/journal"); st != http.StatusOK || !strings.Contains(page, `data-anchor="ok"`) {
		t.Errorf("the Journal page (%d) does not say the trail is anchored", st)
	}
	var consoleExport struct {
		Checkpoint *audit.Checkpoint `json:"checkpoint"`
	}
	if st, body := b.get("/journal/export?format=json"); st != http.StatusOK || json.Unmarshal([]byte(body), &consoleExport) != nil ||
		consoleExport.Checkpoint == nil || consoleExport.Checkpoint.Seq <= head.Seq {
		t.Errorf("the console's JSON export (%d) carries checkpoint %+v; want one of the head after its own entry", st, consoleExport.Checkpoint)
	}
	head, _ = a.Store().AuditHead(t.Context())
	var metrics strings.Builder
	if resp, err := http.Get(a.URL() + "/metrics"); err == nil {
		io.Copy(&metrics, resp.Body)
		resp.Body.Close()
	}
	if !strings.Contains(metrics.String(), "tocsin_audit_last_checkpoint_timestamp_seconds ") {
		t.Error("/metrics shows no last checkpoint time")
	}

	// Cut: the last two entries deleted, the head moved back.
	entries, _, _ := a.Audit().List(t.Context(), audit.Filter{}, 0, 1000)
	back := entries[len(entries)-3]
	h, _ := json.Marshal(tocsin.AuditHead{Seq: back.Seq, Hash: back.Hash})
	if _, err := a.Store().Client().Txn(t.Context()).Then(
		clientv3.OpDelete(fmt.Sprintf("/tocsin/audit/e/%020d", back.Seq+1), clientv3.WithRange(fmt.Sprintf("/tocsin/audit/e/%020d", head.Seq+1))),
		clientv3.OpPut("/tocsin/audit/head", string(h))).Commit(); err != nil {
		t.Fatal(err)
	}
	res = anchoredVerify{}
	api(t, a, "GET", "/api/v1/audit/verify", nil, &res)
	if res.OK || res.Break == nil || res.Break.Seq != back.Seq+1 ||
		!strings.Contains(res.Break.Reason, fmt.Sprintf("les entrées n° %d à %d manquent", back.Seq+1, head.Seq)) {
		t.Errorf("verify of the cut trail: %+v; want entries n° %d to %d named missing", res, back.Seq+1, head.Seq)
	}
}

// Without a key the trail is not anchored: verify passes, and says so.
func TestTrailWithoutSigningKeyIsSaidNotAnchored(t *testing.T) {
	t.Parallel()
	a := mustRunApp(t, app.Config{})
	var res anchoredVerify
	if api(t, a, "GET", "/api/v1/audit/verify", nil, &res); !res.OK || res.Anchor.Anchored || !strings.Contains(res.Anchor.Warning, "journal non ancré") {
		t.Errorf("verify without a key: %+v; want ok, with the warning that the trail is not anchored", res)
	}
	b := loginAs(t, a, "auditrice", tocsin.RoleAuditor)
	if _, page := b.get("/journal"); !strings.Contains(page, `data-anchor="none"`) || !strings.Contains(page, "journal non ancré") {
		t.Error("the Journal page does not warn that the trail is not anchored")
	}
	if _, err := os.Stat(a.CheckpointFile()); a.CheckpointFile() != "" || err == nil {
		t.Errorf("a checkpoint file %q without a key", a.CheckpointFile())
	}
}

// With a syslog server configured, each checkpoint also goes there, and
// the line it receives verifies as a checkpoint, syslog prefix and all.
func TestCheckpointsAlsoGoToSyslog(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pub, key, _ := audit.GenerateKey()
	a := mustRunApp(t, app.Config{AuditSigningKey: key, AuditCheckpointSyslog: "unixgram://" + sock})
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("nothing received by syslog: %v", err)
	}
	line := string(buf[:n])
	check, err := audit.NewAnchorCheck(audit.NewKeyring(pub), strings.NewReader(line))
	if err != nil || !strings.Contains(line, "tocsin-audit") || check.Report().Checkpoints != 1 {
		t.Fatalf("syslog received %q (%v, %+v); want a checkpoint signed by the replica's key, tagged tocsin-audit", line, err, check.Report())
	}
	if got := checkpointsIn(t, a.CheckpointFile()); len(got) != 1 || !strings.Contains(line, got[0].Sig) {
		t.Errorf("the file holds %+v; want the checkpoint syslog received", got)
	}
}
