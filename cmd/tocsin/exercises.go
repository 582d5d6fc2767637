package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

const exercisesUsage = `usage:
  tocsin exercises [--format table|json] [--url U] [--token T]

Prints the exercise calendar of a running replica: the next scheduled
exercises (Paris time and UTC), and the past runs of the schedule with
their status, activation, RETEX and whether they were missed.`

// exerciseCalendar is the API's exercise calendar, as the command prints it.
type exerciseCalendar struct {
	Playbook string `json:"playbook"`
	Next     []struct {
		Due      time.Time `json:"due"`
		DueParis string    `json:"due_paris"`
	} `json:"next"`
	Past []struct {
		Due         time.Time `json:"due"`
		DueParis    string    `json:"due_paris"`
		StatusLabel string    `json:"status_label"`
		Activation  string    `json:"activation"`
		Retex       bool      `json:"retex"`
		Missed      bool      `json:"missed"`
		Awaiting    bool      `json:"awaiting_launch"`
		Error       string    `json:"error"`
		Source      string    `json:"source"`
	} `json:"past"`
}

// exercises prints the exercise calendar, read from a running replica.
func exercises(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin exercises", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, exercisesUsage) }
	f := &envFlags{fs: fs, getenv: getenv}
	var base, token, format string
	f.server(&base, &token)
	fs.StringVar(&format, "format", "table", "table or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.applySecrets()
	if fs.NArg() > 0 {
		return errors.New(exercisesUsage)
	}
	if format != "table" && format != "json" {
		return fmt.Errorf("format %q inconnu : table ou json", format)
	}
	var cal exerciseCalendar
	if printed, err := printOrDecode(ctx, base, "/api/v1/exercises", apiToken(token, getenv), format == "json", stdout, &cal); printed || err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Prochains exercices")
	if len(cal.Next) == 0 {
		fmt.Fprintln(tw, "  aucun exercice programmé")
	} else {
		fmt.Fprintln(tw, "  Heure de Paris\tUTC")
		for _, n := range cal.Next {
			fmt.Fprintf(tw, "  %s\t%s\n", n.DueParis, n.Due.UTC().Format(time.RFC3339))
		}
	}
	if cal.Playbook != "" {
		fmt.Fprintf(tw, "  À l'échéance, le scénario « %s » est lancé en mode exercice.\n", cal.Playbook)
	} else {
		fmt.Fprintln(tw, "  À l'échéance, l'exercice est signalé à l'officier de permanence, qui le lance.")
	}
	fmt.Fprintln(tw, "\nExercices programmés passés")
	if len(cal.Past) == 0 {
		fmt.Fprintln(tw, "  aucun")
	} else {
		fmt.Fprintln(tw, "  Prévu le (Paris)\tUTC\tStatut\tActivation\tRETEX\tManqué")
		for _, p := range cal.Past {
			status := p.StatusLabel
			if p.Awaiting {
				status += " — à lancer par l'officier de permanence"
			}
			if p.Error != "" {
				status += " : " + p.Error
			}
			if p.Source != "" {
				status += " (source : « " + p.Source + " »)"
			}
			act, retex := "—", "—"
			if p.Activation != "" {
				act, retex = p.Activation, map[bool]string{true: "saisi", false: "à saisir"}[p.Retex]
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.DueParis, p.Due.UTC().Format(time.RFC3339), status, act, retex,
				map[bool]string{true: "oui", false: "non"}[p.Missed])
		}
	}
	return tw.Flush()
}

// printOrDecode reads path from a running replica: with raw, it prints the
// JSON answer as it came and reports it printed; otherwise it decodes it
// into v for the caller to print.
func printOrDecode(ctx context.Context, base, path, token string, raw bool, stdout io.Writer, v any) (printed bool, err error) {
	body, err := apiGet(ctx, base, path, token)
	if err != nil {
		return false, err
	}
	if raw {
		_, err := stdout.Write(body)
		return true, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("réponse illisible : %w", err)
	}
	return false, nil
}
