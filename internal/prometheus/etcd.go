package prometheus

import "time"

// EtcdRequest records one etcd request: its method ("Range", "Txn"…), how
// long it took and its gRPC code ("OK" when it succeeded).
func (m *Metrics) EtcdRequest(method string, took time.Duration, code string) {
	m.etcdDuration.WithLabelValues(method).Observe(took.Seconds())
	if code != "OK" {
		m.etcdErrors.WithLabelValues(method, code).Inc()
	}
}
