package etcd

import (
	"context"
	"encoding/json"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Scheduled exercises live under exercise/: exercise/since holds when the
// schedule started to be kept (runs due before are not counted missed),
// exercise/run/<due instant, UTC, 20060102T150405Z> each run.

func (s *Store) exerciseRunKey(due time.Time) string {
	return s.key("exercise", "run", due.UTC().Format("20060102T150405Z"))
}

// ExerciseSince returns when the schedule started to be kept, setting it
// to now on first use.
func (s *Store) ExerciseSince(ctx context.Context, now time.Time) (time.Time, error) {
	k := s.key("exercise", "since")
	v := now.UTC().Format(time.RFC3339Nano)
	resp, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, v)).Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return time.Time{}, unavailable(err)
	}
	if !resp.Succeeded {
		v = string(resp.Responses[0].GetResponseRange().Kvs[0].Value)
	}
	return time.Parse(time.RFC3339Nano, v)
}

// ExerciseStarted returns when the schedule started to be kept, and false
// while no leader has kept it yet. It writes nothing.
func (s *Store) ExerciseStarted(ctx context.Context) (time.Time, bool, error) {
	resp, err := s.cli.Get(ctx, s.key("exercise", "since"))
	if err != nil {
		return time.Time{}, false, unavailable(err)
	}
	if len(resp.Kvs) == 0 {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(resp.Kvs[0].Value))
	return t, err == nil, err
}

// ClaimExerciseRun stores run if no run is recorded for its due instant,
// with audit in the outbox in the same transaction. On a leader's store
// the write is fenced. It reports whether this call created it: exactly
// one claim wins, across replicas and failovers.
func (s *Store) ClaimExerciseRun(ctx context.Context, run tocsin.ExerciseRun, audit ...tocsin.AuditEntry) (bool, error) {
	k := s.exerciseRunKey(run.Due)
	return s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), "=", 0)},
		append([]clientv3.Op{clientv3.OpPut(k, mustJSON(run))}, s.auditOps(audit)...)...)
}

// UpdateExerciseRun records what became of a claimed run, with audit in
// the outbox in the same transaction.
func (s *Store) UpdateExerciseRun(ctx context.Context, run tocsin.ExerciseRun, audit ...tocsin.AuditEntry) error {
	_, err := s.txnOK(ctx, append([]clientv3.Op{clientv3.OpPut(s.exerciseRunKey(run.Due), mustJSON(run))}, s.auditOps(audit)...)...)
	return err
}

// ExerciseRuns returns every recorded run, oldest first.
func (s *Store) ExerciseRuns(ctx context.Context) ([]tocsin.ExerciseRun, error) {
	var out []tocsin.ExerciseRun
	err := s.listJSON(ctx, s.key("exercise", "run")+"/", func(_ string, data []byte) error {
		var r tocsin.ExerciseRun
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
