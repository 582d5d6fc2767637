package etcd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/etcd"
)

// A client key that cannot be used is named with why, and its content is
// never printed.
func TestClientKeyErrorSaysWhyNotWhat(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	os.WriteFile(cert, []byte("not a certificate"), 0o600)
	os.WriteFile(key, []byte("SECRET-KEY-MATERIAL"), 0o600)
	_, err := etcd.Connect(etcd.ClientConfig{Endpoints: []string{"http://127.0.0.1:1"}, CertFile: cert, KeyFile: key})
	if err == nil {
		t.Fatal("a certificate that is not one was taken")
	}
	msg := err.Error()
	if !strings.Contains(msg, cert) || !strings.Contains(msg, "PEM") || strings.Contains(msg, "SECRET") {
		t.Errorf("error %q: want the files named, why (no PEM data), and no key content", msg)
	}
}
