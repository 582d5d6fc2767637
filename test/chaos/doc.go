// Package chaos holds the high-availability tests that run real processes
// so that a kill is real: three tocsin-etcd members, three Tocsin replicas
// and the Twilio simulator on loopback, the leader killed with SIGKILL at
// random moments. They are behind the chaos build tag:
//
//	go test -tags chaos -v -timeout 15m ./test/chaos
package chaos
