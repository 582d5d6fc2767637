// Command tocsin-etcd runs one embedded etcd member, the same server Tocsin
// embeds, for a test cluster on one machine: three of them make a cluster
// that a test can break by killing processes. Production runs a real etcd
// cluster instead (see deploy/).
//
//	tocsin-etcd --name m0 --dir /tmp/m0 \
//	  --client-url http://127.0.0.1:23790 --peer-url http://127.0.0.1:23800 \
//	  --initial-cluster m0=http://127.0.0.1:23800,m1=…,m2=…
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prefecture76/tocsin/internal/etcd"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tocsin-etcd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg etcd.EmbeddedConfig
	fs := flag.NewFlagSet("tocsin-etcd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Name, "name", "m0", "member name")
	fs.StringVar(&cfg.Dir, "dir", "", "data folder (required)")
	fs.StringVar(&cfg.ClientURL, "client-url", "http://127.0.0.1:2379", "client URL to listen on and advertise")
	fs.StringVar(&cfg.PeerURL, "peer-url", "http://127.0.0.1:2380", "peer URL to listen on and advertise")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "name=peer-url,… of every member; empty: a single member")
	fs.BoolVar(&cfg.UnsafeNoFsync, "unsafe-no-fsync", false, "skip fsync (tests only: a machine crash loses data)")
	fs.DurationVar(&cfg.StartTimeout, "start-timeout", 60*time.Second, "how long to wait for the other members")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Dir == "" {
		return errors.New("--dir is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := etcd.StartEmbedded(cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(stdout, "etcd member %s ready on %s\n", cfg.Name, cfg.ClientURL)
	select {
	case <-ctx.Done():
	case err := <-m.Err():
		return fmt.Errorf("etcd member stopped: %w", err)
	}
	return nil
}
