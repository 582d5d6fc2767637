// Command twiliosim runs the Twilio simulator: Twilio's REST API for
// messages and calls, signed status callbacks, and virtual officials who
// reply, stay silent, answer calls (the simulator fetches and plays the
// calls' TwiML) and press keys, or fail, as a profile says. See package
// internal/twiliosim for the API, the profile format and the /sim/
// control endpoints.
//
// Every flag can also be set with an environment variable: --sms-url with
// TWILIOSIM_SMS_URL, and so on. Flags win.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/prefecture76/tocsin/internal/twiliosim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "twiliosim:", err)
		os.Exit(1)
	}
}

// options are the command's settings, from flags and environment.
type options struct {
	listen     string
	accountSID string
	authToken  string
	smsURL     string
	profile    string
	numbers    string
	delayScale float64
	mps        int
	cps        int
	maxCalls   int
	logLevel   string
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("twiliosim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("TWILIOSIM_" + name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string) (int, error) {
		v := env(name, "0")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("TWILIOSIM_%s=%q: want a whole number >= 0", name, v)
		}
		return n, nil
	}
	scale, err := strconv.ParseFloat(env("DEMO_DELAY_SCALE", "0"), 64)
	if err != nil {
		return o, fmt.Errorf("TWILIOSIM_DEMO_DELAY_SCALE: %w", err)
	}
	mps, err := envInt("MPS")
	if err != nil {
		return o, err
	}
	cps, err := envInt("CPS")
	if err != nil {
		return o, err
	}
	maxCalls, err := envInt("MAX_CALLS")
	if err != nil {
		return o, err
	}

	fs.StringVar(&o.listen, "listen", env("LISTEN", "127.0.0.1:8089"), "address to listen on (TWILIOSIM_LISTEN)")
	fs.StringVar(&o.accountSID, "account-sid", env("ACCOUNT_SID", twiliosim.DefaultAccountSID), "account SID clients must use (TWILIOSIM_ACCOUNT_SID)")
	// No default from the environment for the token: -help prints defaults.
	fs.StringVar(&o.authToken, "auth-token", "", "auth token clients must use and webhooks are signed with; default: the simulator's public test token (TWILIOSIM_AUTH_TOKEN)")
	fs.StringVar(&o.smsURL, "sms-url", env("SMS_URL", ""), "where officials' replies are posted; can be set later with PUT /sim/sms-url (TWILIOSIM_SMS_URL)")
	fs.StringVar(&o.profile, "profile", env("PROFILE", ""), "YAML or JSON profile of the virtual officials; default: the demo profile (TWILIOSIM_PROFILE)")
	fs.StringVar(&o.numbers, "numbers", env("NUMBERS", ""), "the account's phone numbers, comma-separated; default: any From is accepted (TWILIOSIM_NUMBERS)")
	fs.Float64Var(&o.delayScale, "demo-delay-scale", scale, "multiply every delay, e.g. 0.1 for a quick demo; 0 keeps the profile's (TWILIOSIM_DEMO_DELAY_SCALE)")
	fs.IntVar(&o.mps, "mps", mps, "messages per second, 0 unlimited (TWILIOSIM_MPS)")
	fs.IntVar(&o.cps, "cps", cps, "calls per second, 0 unlimited (TWILIOSIM_CPS)")
	fs.IntVar(&o.maxCalls, "max-calls", maxCalls, "calls in progress at once, 0 unlimited (TWILIOSIM_MAX_CALLS)")
	fs.StringVar(&o.logLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (TWILIOSIM_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.authToken == "" {
		o.authToken = getenv("TWILIOSIM_AUTH_TOKEN")
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return o, nil
}

// config turns the options into the simulator's configuration.
func (o options) config(log *slog.Logger) (twiliosim.Config, error) {
	cfg := twiliosim.Config{
		AccountSID:         o.accountSID,
		AuthToken:          o.authToken,
		SMSURL:             o.smsURL,
		MessagesPerSecond:  o.mps,
		CallsPerSecond:     o.cps,
		MaxConcurrentCalls: o.maxCalls,
		Logger:             log,
		Profile:            twiliosim.DemoProfile(),
	}
	for _, n := range strings.Split(o.numbers, ",") {
		if n = strings.TrimSpace(n); n != "" {
			cfg.Numbers = append(cfg.Numbers, n)
		}
	}
	if o.profile != "" {
		p, err := twiliosim.LoadProfile(o.profile)
		if err != nil {
			return cfg, err
		}
		cfg.Profile = p
	}
	if o.delayScale < 0 {
		return cfg, fmt.Errorf("--demo-delay-scale must be >= 0")
	}
	if o.delayScale > 0 {
		cfg.Profile.DelayScale = o.delayScale
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := o.config(log)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := twiliosim.Start(o.listen, cfg)
	if err != nil {
		return err
	}
	scale := cfg.Profile.DelayScale
	if scale == 0 {
		scale = 1
	}
	// The token is never logged, only whether it is the public default.
	log.Info("Twilio simulator ready",
		"url", srv.URL(),
		"account_sid", srv.AccountSID(),
		"default_token", o.authToken == "",
		"profile", profileName(o.profile),
		"delay_scale", scale,
		"sms_url", cfg.SMSURL != "")
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}

func profileName(path string) string {
	if path == "" {
		return "demo"
	}
	return path
}
