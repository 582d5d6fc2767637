package activation

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prefecture76/tocsin/internal/history"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// ImportResult says what a history import did.
type ImportResult struct {
	Imported       int      `json:"imported"`
	AlreadyPresent int      `json:"already_present"`
	ImportedIDs    []string `json:"imported_ids"`
	PresentIDs     []string `json:"already_present_ids"`
}

// importWriters is how many imported activations are written at once.
const importWriters = 8

// ImportHistory imports a history file (docs/history.md), all or nothing:
// every line is checked first — its format, nothing in the future, its
// officials in the directory or marked external, its id free, a scheduled
// exercise not both held and not held — in one pass, and any error returns
// every error, each naming its line, column and field
// (tocsin.EUnprocessable), with nothing imported. A record already
// imported with the same content is left as it is: importing a file again
// changes nothing. file names the file in the timeline and the audit
// trail; it may be empty. Only an administrator imports.
func (s *Service) ImportHistory(ctx context.Context, by tocsin.User, file string, r io.Reader) (*ImportResult, error) {
	if by.Role != tocsin.RoleAdmin {
		return nil, tocsin.Errorf(tocsin.EForbidden, "seul un administrateur importe l'historique")
	}
	// The file is read whole before the import lock is taken, so that a
	// slow upload does not hold it.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if s.history == nil {
		return nil, tocsin.Errorf(tocsin.ENotFound, "import d'historique non disponible")
	}
	unlock, err := s.history.LockImports(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := s.newImportCheck(ctx)
	if err != nil {
		return nil, err
	}
	// The checks run with the format's, line by line: every error of the
	// file comes in one answer.
	recs, err := history.ParseChecked(bytes.NewReader(data), c.check)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, tocsin.Errorf(tocsin.EUnprocessable, "fichier vide : aucune activation à importer")
	}
	res := &ImportResult{ImportedIDs: []string{}, PresentIDs: []string{}}
	var todo []*history.Record
	for i := range recs {
		if c.present[recs[i].ID] {
			res.PresentIDs = append(res.PresentIDs, recs[i].ID)
		} else {
			todo = append(todo, &recs[i])
		}
	}
	from := ""
	if file != "" {
		from = " (fichier « " + file + " »)"
	}
	var mu sync.Mutex
	var firstErr error
	next := make(chan *history.Record)
	var wg sync.WaitGroup
	for range min(importWriters, len(todo)) {
		wg.Go(func() {
			for rec := range next {
				err := s.importRecord(ctx, rec, tocsin.Import{Source: rec.Source, At: c.now, By: by.Name, Digest: c.digests[rec.ID]}, from, c.directory)
				mu.Lock()
				if err == nil {
					res.ImportedIDs = append(res.ImportedIDs, rec.ID)
				} else if firstErr == nil {
					firstErr = fmt.Errorf("import %s: %w", rec.ID, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, rec := range todo {
		next <- rec
	}
	close(next)
	wg.Wait()
	res.Imported, res.AlreadyPresent = len(res.ImportedIDs), len(res.PresentIDs)
	slices.Sort(res.ImportedIDs)
	if res.Imported > 0 {
		s.log.Info("history imported", "imported", res.Imported, "already_present", res.AlreadyPresent, "by", by.Name, "file", file)
		s.drain(ctx)
		s.summarize(ctx, by, fmt.Sprintf("historique importé%s : %d activations importées, %d déjà présentes ; empreinte des enregistrements importés %s",
			from, res.Imported, res.AlreadyPresent, importDigest(res.ImportedIDs, c.digests)))
	}
	if firstErr != nil {
		// What was written is whole and stays; importing the file again
		// adds the rest.
		return res, firstErr
	}
	return res, nil
}

// importRecord writes one checked record with its audit entry: an
// activation, or a scheduled exercise not held as a run of the schedule.
func (s *Service) importRecord(ctx context.Context, rec *history.Record, imp tocsin.Import, from string, directory map[string]tocsin.Official) error {
	if rec.NotHeld() {
		run := rec.Run(imp)
		entry := tocsin.AuditEntry{At: imp.At, Actor: imp.By, Action: tocsin.AuditHistoryImported,
			Detail: fmt.Sprintf("exercice programmé du %s déclaré non tenu, importé de l'historique par %s%s — source : « %s » ; identifiant %s ; empreinte %s",
				tocsin.ParisTime(run.Due), imp.By, from, rec.Source, rec.ID, imp.Digest)}
		won, err := s.history.ClaimExerciseRun(ctx, run, entry)
		if err == nil && !won {
			err = tocsin.Errorf(tocsin.EConflict, "l'exercice prévu le %s est déjà enregistré", tocsin.ParisTime(run.Due))
		}
		return err
	}
	a, rs := rec.Activation(func(id string) (tocsin.Official, bool) { o, ok := directory[id]; return o, ok }, imp)
	ev := tocsin.Event{At: imp.At, Kind: tocsin.EventImported,
		Detail: fmt.Sprintf("activation importée de l'historique par %s%s — source : « %s »", imp.By, from, rec.Source)}
	entry := tocsin.AuditEntry{At: imp.At, Actor: imp.By, Action: tocsin.AuditHistoryImported, Activation: a.ID,
		Detail: ev.Detail + " ; empreinte " + imp.Digest}
	return s.history.ImportActivation(ctx, a, rs, ev, entry)
}

// importDigest commits to the ids and the contents of what an import
// wrote: SHA-256 over "<id> <digest>" lines, sorted by id.
func importDigest(ids []string, digests map[string]string) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id + " " + digests[id] + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// History returns the records of the activations whose activated_at is in
// [from, to) — a zero bound is open — and of the scheduled exercises not
// held due in it, oldest first: those Tocsin ran or recorded and those it
// imported, as one history file holds them. An activation still open is
// left out unless withOpen, since its record would read as closed (and its
// officials not informed yet as never informed): leftOut names those left
// out.
func (s *Service) History(ctx context.Context, from, to time.Time, withOpen bool) (recs []history.Record, leftOut []string, err error) {
	in := func(t time.Time) bool { return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to)) }
	all, err := s.store.Activations(ctx)
	if err != nil {
		return nil, nil, err
	}
	officials, err := s.store.Officials(ctx)
	if err != nil {
		return nil, nil, err
	}
	inDirectory := make(map[string]bool, len(officials))
	for _, o := range officials {
		inDirectory[o.ID] = true
	}
	type dated struct {
		at  time.Time
		rec history.Record
	}
	var out []dated
	for i := range all {
		a := &all[i]
		switch {
		case !in(a.ActivatedAt):
			continue
		case a.State != tocsin.Closed && !withOpen:
			leftOut = append(leftOut, a.ID)
			continue
		}
		rs, err := s.store.Recipients(ctx, a.ID)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, dated{a.ActivatedAt, history.FromActivation(a, rs, func(id string) bool { return inDirectory[id] })})
	}
	if s.notHeld != nil {
		runs, err := s.notHeld(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, run := range runs {
			if in(run.Due) {
				out = append(out, dated{run.Due, history.FromRun(run)})
			}
		}
	}
	slices.SortFunc(out, func(x, y dated) int { return cmp.Or(x.at.Compare(y.at), strings.Compare(x.rec.ID, y.rec.ID)) })
	slices.Sort(leftOut)
	recs = make([]history.Record, len(out))
	for i := range out {
		recs[i] = out[i].rec
	}
	return recs, leftOut, nil
}
