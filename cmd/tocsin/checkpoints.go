package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/prefecture76/tocsin/internal/app"
	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// auditKeys reads the checkpoint signing key, from its file or the
// variable, and the earlier public keys into cfg. Errors never quote the
// private key.
func auditKeys(cfg *app.Config, keyFile, key, publicKeys string) error {
	if keyFile != "" && key != "" {
		return errors.New("--audit-key-file et --audit-key (TOCSIN_AUDIT_KEY) : une seule clé de signature à la fois")
	}
	text := []byte(key)
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return fmt.Errorf("--audit-key-file : %w", err)
		}
		text = b
	}
	if len(text) > 0 {
		k, err := audit.ParsePrivateKey(text)
		if err != nil {
			if keyFile != "" {
				return fmt.Errorf("--audit-key-file %s : %w", keyFile, err)
			}
			return fmt.Errorf("TOCSIN_AUDIT_KEY : %w", err)
		}
		cfg.AuditSigningKey = k
	}
	if publicKeys != "" {
		ring, err := readPublicKeys(publicKeys)
		if err != nil {
			return fmt.Errorf("--audit-public-keys : %w", err)
		}
		for _, pub := range ring {
			cfg.AuditPublicKeys = append(cfg.AuditPublicKeys, pub)
		}
	}
	return nil
}

// errCheckpointsInvalid makes verify exit non-zero once the checkpoint
// lines that are not valid are printed.
var errCheckpointsInvalid = errors.New("points de contrôle invalides")

// keygenCmd makes a key pair for the audit checkpoints.
func keygenCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tocsin audit keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, auditUsage) }
	var out string
	fs.StringVar(&out, "o", "audit-signing.key", "file of the private key (mode 0600); the public key goes to FILE.pub")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New(auditUsage)
	}
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		return err
	}
	pemKey, err := audit.MarshalPrivateKey(priv)
	if err != nil {
		return err
	}
	// O_EXCL: a key in use is never replaced by accident; a rotation
	// writes a new file.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s existe déjà : choisissez un autre fichier avec -o (une rotation garde l'ancienne clé publique pour vérifier)", out)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(pemKey); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	line := audit.FormatPublicKey(pub)
	if err := os.WriteFile(out+".pub", []byte(line+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Clé privée : %s (à donner à chaque réplica par --audit-key-file ou TOCSIN_AUDIT_KEY, jamais à etcd)\n", out)
	fmt.Fprintf(stdout, "Clé publique (identifiant %s), aussi dans %s.pub, à remettre aux auditeurs :\n%s\n", audit.KeyID(pub), out, line)
	return nil
}

// readPublicKeys reads comma-separated public keys: each "ed25519:…" or
// the name of a file holding one.
func readPublicKeys(list string) (audit.Keyring, error) {
	var keys []ed25519.PublicKey
	for _, k := range strings.Split(list, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		text := k
		if !strings.HasPrefix(k, "ed25519:") {
			b, err := os.ReadFile(k)
			if err != nil {
				return nil, fmt.Errorf("clé publique %q : ni « ed25519:… » ni un fichier lisible (%v)", k, err)
			}
			text = string(b)
		}
		pub, err := audit.ParsePublicKey(text)
		if err != nil {
			return nil, err
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errors.New("--public-key : aucune clé publique")
	}
	return audit.NewKeyring(keys...), nil
}

// printAnchor prints what checkpoints showed of the trail, by whom
// checked, and reports whether some lines are invalid.
func printAnchor(w io.Writer, by string, r audit.AnchorReport) (invalid bool) {
	if r.InvalidCount > 0 {
		fmt.Fprintf(w, "Points de contrôle INVALIDES (%d, vérifiés par %s) :\n", r.InvalidCount, by)
		for _, l := range r.Invalid {
			fmt.Fprintf(w, "  - ligne %d : %s\n", l.Line, l.Reason)
		}
		if r.InvalidCount > len(r.Invalid) {
			fmt.Fprintf(w, "  … et %d autres\n", r.InvalidCount-len(r.Invalid))
		}
	}
	switch {
	case !r.Anchored:
		fmt.Fprintf(w, "Attention (%s) : %s\n", by, r.Warning)
	case r.Latest != nil:
		fmt.Fprintf(w, "Journal ancré (%s) : %d point(s) de contrôle signé(s) vérifié(s), le dernier de l'entrée n° %d signé le %s (clé %s)\n",
			by, r.Checkpoints, r.Latest.Seq, tocsin.ParisTime(r.Latest.At), r.Latest.Key)
	}
	return r.InvalidCount > 0
}

// verifyCheckpoints reads the whole trail from a replica, recomputes its
// chain here, and checks it against the checkpoints of file signed by
// keys: it trusts neither the replica's verification nor etcd.
func verifyCheckpoints(ctx context.Context, base, token, file string, keys audit.Keyring, stdout io.Writer) error {
	fh, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("fichier des points de contrôle : %w", err)
	}
	defer fh.Close()
	check, err := audit.NewAnchorCheck(keys, fh)
	if err != nil {
		return fmt.Errorf("%s : %w", file, err)
	}
	var n uint64
	prev := ""
	brk, err := walkTrail(ctx, base, token, func(e *tocsin.AuditEntry) *audit.Break {
		want := n + 1
		switch {
		case e.Seq != want:
			return &audit.Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d manque ou n'est pas à sa place (la n° %d suit la n° %d)", want, e.Seq, n)}
		case audit.Hash(e) != e.Hash:
			return &audit.Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d a été modifiée : son empreinte ne correspond plus à son contenu", want)}
		case e.Prev != prev:
			return &audit.Break{Seq: want, Reason: fmt.Sprintf("l'entrée n° %d ne suit pas l'entrée n° %d : l'empreinte précédente ne correspond pas", want, n)}
		}
		if b := check.Add(e); b != nil {
			return b
		}
		n, prev = want, e.Hash
		return nil
	})
	if err != nil {
		return err
	}
	if brk == nil {
		brk = check.Finish(n)
	}
	by := "les points de contrôle de " + file
	if brk != nil {
		fmt.Fprintf(stdout, "Journal d'audit ALTÉRÉ à l'entrée n° %d (d'après %s) : %s\n", brk.Seq, by, brk.Reason)
		return errChainBroken
	}
	if printAnchor(stdout, by, check.Report()) {
		return errCheckpointsInvalid
	}
	return nil
}

// walkTrail reads the trail page by page from a replica and calls fn with
// each entry until fn names a break.
func walkTrail(ctx context.Context, base, token string, fn func(e *tocsin.AuditEntry) *audit.Break) (*audit.Break, error) {
	q := url.Values{"limit": {"5000"}}
	for {
		body, err := apiGet(ctx, base, "/api/v1/audit?"+q.Encode(), token)
		if err != nil {
			return nil, err
		}
		var page struct {
			Entries []tocsin.AuditEntry `json:"entries"`
			Next    *uint64             `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("réponse illisible : %w", err)
		}
		for i := range page.Entries {
			if b := fn(&page.Entries[i]); b != nil {
				return b, nil
			}
		}
		if page.Next == nil {
			return nil, nil
		}
		next := strconv.FormatUint(*page.Next, 10)
		if next == q.Get("after") {
			return nil, fmt.Errorf("le serveur redonne la même page (après l'entrée n° %s)", next)
		}
		q.Set("after", next)
	}
}
