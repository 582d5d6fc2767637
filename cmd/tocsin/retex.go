package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

const retexUsage = `usage:
  tocsin retex ACTIVATION [--format text|json] [--url U] [--token T]
  tocsin retex ACTIVATION --file retex.txt [--url U] [--token T]

Prints the RETEX (lessons learned) of an exercise, or with --file records
it from a text file (- reads standard input), replacing any earlier one.
The exercise must be closed; the text is at most 5000 characters.`

// maxRetex is the server's bound, checked here to name the file.
const maxRetex = tocsin.MaxRetex

// retexAnswer is the API's RETEX.
type retexAnswer struct {
	Activation string    `json:"activation"`
	Text       string    `json:"text"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// retexCmd prints or records an exercise's RETEX on a running replica.
func retexCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin retex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, retexUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, file, format string
	f.server(&base, &token)
	fs.StringVar(&file, "file", "", "text file of the RETEX to record (- for standard input)")
	fs.StringVar(&format, "format", "text", "text or json, when printing")
	id, err := parseNamed(f, args, retexUsage)
	if err != nil {
		return err
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("format %q inconnu : text ou json", format)
	}
	token = apiToken(token, getenv)
	path := "/api/v1/activations/" + url.PathEscape(id) + "/retex"
	if file != "" {
		text, err := readRetex(file, stdin)
		if err != nil {
			return err
		}
		if _, _, err := apiDo(ctx, http.MethodPost, base, path, token, map[string]string{"text": text}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "RETEX de l'exercice %s enregistré.\n", id)
		return nil
	}
	var rx retexAnswer
	if printed, err := printOrDecode(ctx, base, path, token, format == "json", stdout, &rx); printed || err != nil {
		return err
	}
	fmt.Fprintf(stdout, "RETEX de l'exercice %s, saisi par %s le %s (heure de Paris)\n\n%s\n", rx.Activation, rx.By,
		tocsin.ParisTime(rx.At), rx.Text)
	return nil
}

// readRetex reads the RETEX file and checks it before anything is sent;
// errors name the file.
func readRetex(file string, stdin io.Reader) (string, error) {
	r, name := stdin, "entrée standard"
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("RETEX : %w", err)
		}
		defer fh.Close()
		r, name = fh, file
	}
	data, err := io.ReadAll(io.LimitReader(r, 4*maxRetex+1))
	if err != nil {
		return "", fmt.Errorf("%s : %w", name, err)
	}
	text := strings.TrimSpace(string(data))
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return "", fmt.Errorf("%s : texte invalide (UTF-8 attendu)", name)
	case n == 0:
		return "", fmt.Errorf("%s : le RETEX est vide", name)
	case n > maxRetex || len(data) > 4*maxRetex:
		return "", fmt.Errorf("%s : RETEX trop long : %d caractères au plus", name, maxRetex)
	}
	return text, nil
}
