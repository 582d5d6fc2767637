package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// ClientConfig says how to reach an etcd cluster.
type ClientConfig struct {
	Endpoints []string
	// CAFile, CertFile and KeyFile enable TLS (client certificates when the
	// cert and key are given).
	CAFile, CertFile, KeyFile string
	Username, Password        string
	DialTimeout               time.Duration // default 5 s
	// Observe is told every unary request to etcd (each try, when the
	// client retries): its method ("Range", "Txn", "LeaseGrant"…), how
	// long it took, and its gRPC code ("OK", "Unavailable"…), for
	// metrics; nil: nobody is. Watches and lease keep-alives are streams,
	// not observed.
	Observe func(method string, took time.Duration, code string)
}

// Connect returns a client for cfg. It does not wait for the cluster: use
// Store.Ping for that.
func Connect(cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoint")
	}
	cc := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Username:    cfg.Username,
		Password:    cfg.Password,
		Logger:      zap.NewNop(),
		// Keepalives notice a dead member quickly, so the client moves on.
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		RejectOldCluster:     false,
	}
	if cc.DialTimeout == 0 {
		cc.DialTimeout = 5 * time.Second
	}
	if cfg.Observe != nil {
		cc.DialOptions = append(cc.DialOptions, grpc.WithChainUnaryInterceptor(observeUnary(cfg.Observe)))
	}
	if cfg.CAFile != "" || cfg.CertFile != "" {
		t, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		cc.TLS = t
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return cli, nil
}

func tlsConfig(cfg ClientConfig) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA %s: no certificate found", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		// crypto/tls's errors say what is wrong (no file, no PEM data, a
		// key that does not match), never the key's content.
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd client certificate %s / key %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// observeUnary times each unary request. The client's own retrying
// interceptor runs first, so each try is observed.
func observeUnary(observe func(method string, took time.Duration, code string)) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		observe(method[strings.LastIndexByte(method, '/')+1:], time.Since(start), status.Code(err).String())
		return err
	}
}
