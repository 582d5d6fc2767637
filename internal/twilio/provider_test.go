package twilio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "s3cr3tt0ken5a1t5ecr3tt0ken5a1t5e"
	testFrom  = "+33235000000"
)

func validConfig() Config {
	return Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // in the error; "" for no error
	}{
		{"valid", func(*Config) {}, ""},
		{"service instead of from", func(c *Config) {
			c.From, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
		}, ""},
		{"http api url with prefix", func(c *Config) { c.APIURL = "http://127.0.0.1:8080/twilio/" }, ""},
		{"no sid", func(c *Config) { c.AccountSID = "" }, "AccountSID is required"},
		{"bad sid", func(c *Config) { c.AccountSID = "SK123" }, "AccountSID must be"},
		{"no token", func(c *Config) { c.AuthToken = "" }, "AuthToken is required"},
		{"token with symbols", func(c *Config) { c.AuthToken = "abc/def" }, "AuthToken must contain"},
		{"no sender", func(c *Config) { c.From = "" }, "From or MessagingServiceSID is required"},
		{"national from", func(c *Config) { c.From = "0235000000" }, "From must be a number in E.164"},
		{"bad service", func(c *Config) { c.MessagingServiceSID = "PN123" }, "MessagingServiceSID must be"},
		{"service and caller id", func(c *Config) {
			c.From, c.MessagingServiceSID, c.CallerID = "", "MG0123456789abcdef0123456789abcdef", "+33235000099"
		}, ""},
		{"national caller id", func(c *Config) { c.CallerID = "0235000099" }, "CallerID must be a number in E.164"},
		{"relative api url", func(c *Config) { c.APIURL = "/twilio" }, "APIURL must be an absolute"},
		{"ftp api url", func(c *Config) { c.APIURL = "ftp://example.org" }, "APIURL must be an absolute"},
		{"api url with query", func(c *Config) { c.APIURL = "https://example.org/?a=b" }, "APIURL must not have a query"},
		{"api url with user", func(c *Config) { c.APIURL = "https://u:p@example.org" }, "APIURL must not carry credentials"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "Timeout must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.edit(&cfg)
			p, err := New(cfg, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v, want no error", err)
			case tc.want != "" && err == nil:
				t.Fatalf("New: no error, want one containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
			if p != nil {
				p.Close()
			}
		})
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{APIURL: "nope"}, nil)
	if err == nil {
		t.Fatal("New(empty config): no error")
	}
	for _, want := range []string{"AccountSID", "AuthToken", "From or MessagingServiceSID", "APIURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	cfg := validConfig()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v, err := NewValidator(testToken, "https://tocsin.example.fr")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("config", "cfg", cfg, "provider", p, "validator", v)
	jsonCfg, _ := json.Marshal(cfg)

	var printed []string
	for _, x := range []any{cfg, &cfg, p, *p, v, *v} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			printed = append(printed, fmt.Sprintf(verb, x))
		}
	}
	printed = append(printed, logs.String(), string(jsonCfg))
	for _, s := range printed {
		if strings.Contains(s, testToken) || strings.Contains(s, fmt.Sprintf("%x", testToken)) {
			t.Fatalf("the auth token appears in %q", s)
		}
	}
	if !strings.Contains(fmt.Sprintf("%+v", p), testSID) {
		t.Errorf("%%+v of the provider = %q, want it to name the account", fmt.Sprintf("%+v", p))
	}
}
