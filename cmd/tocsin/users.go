package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/app"
)

const usersUsage = `usage:
  tocsin users add NAME --role admin|officer|auditor [--password-stdin] [--url U] [--token T]
  tocsin users passwd NAME [--password-stdin] [--url U] [--token T]
  tocsin users reset-2fa NAME [--url U] [--token T]

The command asks the running server (--url, default http://127.0.0.1:8080)
with an administrator's API token (--token or TOCSIN_ADMIN_TOKEN). Without
--password-stdin the server generates the password, and it is printed once.
reset-2fa removes a user's second factor (a lost phone): they enrol a new
authenticator application at their next login.`

// users creates console users and resets their passwords through a running
// replica's API: the embedded etcd's data folder is locked by the server,
// and the API checks the administrator's token and the password policy.
// Passwords go over the API once and are never logged.
func users(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "passwd" && args[0] != "reset-2fa") {
		return errors.New(usersUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("tocsin users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, role string
	var fromStdin bool
	f.String(&base, "url", "http://"+app.DefaultListen, "address of a running Tocsin replica")
	f.Secret(&token, "token", "an administrator's API token (prefer TOCSIN_TOKEN or TOCSIN_ADMIN_TOKEN)")
	if sub != "reset-2fa" {
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input instead of generating one")
	}
	if sub == "add" {
		fs.StringVar(&role, "role", "", "admin, officer (duty officer) or auditor")
	}
	name, err := parseNamed(f, args, usersUsage)
	if err != nil {
		return err
	}
	if token == "" {
		token = getenv("TOCSIN_ADMIN_TOKEN")
	}
	if token == "" {
		return errors.New("an administrator's API token is needed: --token or TOCSIN_ADMIN_TOKEN")
	}
	if sub == "add" && role == "" {
		return errors.New("--role is required: admin, officer or auditor")
	}
	var password string
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return errors.New("--password-stdin: standard input is empty")
		}
	}

	path, body := "/api/v1/users", map[string]string{"name": name, "role": role, "password": password}
	switch sub {
	case "passwd":
		path, body = "/api/v1/users/"+url.PathEscape(name)+"/password", map[string]string{"password": password}
	case "reset-2fa":
		path, body = "/api/v1/users/"+url.PathEscape(name)+"/totp/reset", map[string]string{}
	}
	var answer struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
		Error    *struct {
			Message string   `json:"message"`
			Details []string `json:"details"`
		} `json:"error"`
	}
	status, err := postJSON(ctx, strings.TrimSuffix(base, "/")+path, token, body, &answer)
	if err != nil {
		return err
	}
	if answer.Error != nil {
		return fmt.Errorf("%s (HTTP %d)", answer.Error.Message, status)
	}
	if status/100 != 2 {
		return fmt.Errorf("the server answered HTTP %d", status)
	}
	switch sub {
	case "add":
		fmt.Fprintf(stdout, "Utilisateur « %s » créé (rôle %s).\n", answer.Name, answer.Role)
	case "reset-2fa":
		fmt.Fprintf(stdout, "Double authentification de « %s » réinitialisée : il l'activera de nouveau à sa prochaine connexion.\n", answer.Name)
	default:
		fmt.Fprintf(stdout, "Mot de passe de « %s » changé : ses sessions ouvertes sont closes.\n", answer.Name)
	}
	if answer.Password != "" {
		fmt.Fprintf(stdout, "Mot de passe (affiché une seule fois) :\n\n    %s\n\n", answer.Password)
	}
	return nil
}

// parseNamed parses a command's flags around the one name it takes, which
// may come before or after them, and returns the name.
func parseNamed(f *envFlags, args []string, usage string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := f.fs.Parse(args); err != nil {
		return "", err
	}
	f.applySecrets()
	rest := f.fs.Args()
	if name == "" && len(rest) == 1 {
		name, rest = rest[0], nil
	}
	if name == "" || len(rest) > 0 {
		return "", errors.New(usage)
	}
	return name, nil
}

func postJSON(ctx context.Context, target, token string, body, out any) (int, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reach Tocsin at %s: %w", target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("HTTP %d from %s: not a Tocsin answer", resp.StatusCode, target)
	}
	return resp.StatusCode, nil
}
