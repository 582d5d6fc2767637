package prometheus

import "time"

// Reconciled counts what a reconciliation pass with the provider
// recovered, and whether it failed.
func (m *Metrics) Reconciled(replies, informed, statuses int, err error) {
	m.reconciled.WithLabelValues("reply").Add(float64(replies))
	m.reconciled.WithLabelValues("status").Add(float64(statuses))
	m.reconcileInform.Add(float64(informed))
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.reconcilePasses.WithLabelValues(result).Inc()
}

// AuditAppended counts n entries chained to the audit trail, by way of
// "direct", "outbox" or "recipients".
func (m *Metrics) AuditAppended(via string, n int) {
	m.auditAppended.WithLabelValues(via).Add(float64(n))
}

// Verification is the outcome of a verification of the audit trail.
type Verification struct {
	At      time.Time
	Entries int  // entries checked
	Intact  bool // the chain holds
	Missing bool // the chain holds but the trail misses changes of the store
}

// AuditVerified records a verification of the audit trail; err is what
// stopped it before a result.
func (m *Metrics) AuditVerified(v Verification, err error) {
	switch {
	case err != nil:
		m.auditVerifications.WithLabelValues("error").Inc()
		return
	case !v.Intact:
		m.auditVerifications.WithLabelValues("broken").Inc()
		m.auditIntact.WithLabelValues().Set(0)
		return
	case v.Missing:
		m.auditVerifications.WithLabelValues("missing").Inc()
		m.auditIntact.WithLabelValues().Set(0)
		return
	}
	m.auditVerifications.WithLabelValues("ok").Inc()
	m.auditIntact.WithLabelValues().Set(1)
	m.auditVerified.WithLabelValues().Set(float64(v.Entries))
	m.auditLastVerified.WithLabelValues().Set(float64(v.At.UnixNano()) / 1e9)
}

// AuditCheckpointed records that the audit trail's head was found
// anchored in the replica's checkpoint file at at: a checkpoint signed
// and written, or the last one still the head's.
func (m *Metrics) AuditCheckpointed(at time.Time) {
	m.auditCheckpoint.WithLabelValues().Set(float64(at.UnixNano()) / 1e9)
}

// ExerciseRun counts a scheduled exercise come due, by what became of it
// (tocsin.RunLaunched, RunNotified, RunFailed, RunMissed).
func (m *Metrics) ExerciseRun(outcome string) {
	m.exerciseRuns.WithLabelValues(outcome).Inc()
}
