// Package prometheus exposes a replica's metrics in Prometheus' format, on
// /metrics. The engines do not import it: they tell small observers what
// they do, and the app wires those observers to a Metrics.
//
// Invariants:
//   - No label holds an official, a phone number, a message or a secret.
//     Labels take values from short fixed sets (channel, route, result,
//     reason, webhook kind, etcd method…). The one exception is the
//     activation id on the gauges of open activations: those series exist
//     only while the activation is open, so their number is bounded by
//     the activations open at once.
//   - The gauges of open activations and of the exercise calendar are
//     computed when Prometheus scrapes, from the store, and kept for a
//     while (State.CacheFor, longer when a read is slow) so that scrapes
//     do not weigh on etcd; when a read fails, the last figures read are
//     served and tocsin_state_read_errors_total counts the failure. The
//     time left is computed at each scrape.
//   - /metrics asks for no token, so scraping cannot load etcd: a quorum
//     read at most every State.PingEvery, the figures at most every
//     State.CacheFor, at most four scrapes served at once.
//   - Counters of what only the leader does (provider calls, pace,
//     reconciliation, exercise runs) count on the replica that did it: sum
//     them over the replicas.
//   - Every series that an alert or a ratio needs exists from the start,
//     at 0, so that a first increase is seen.
package prometheus
