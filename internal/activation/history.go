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
// officials in the directory or marked external, its id free — in one
// pass, and any error returns every error, each naming its line, column
// and field (tocsin.EUnprocessable), with nothing imported. A record already
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
	officials, err := s.store.Officials(ctx)
	if err != nil {
		return nil, err
	}
	directory := make(map[string]tocsin.Official, len(officials))
	for _, o := range officials {
		directory[o.ID] = o
	}
	existing, err := s.store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*tocsin.Activation, len(existing))
	for i := range existing {
		byID[existing[i].ID] = &existing[i]
	}
	now := s.now().UTC()
	res := &ImportResult{ImportedIDs: []string{}, PresentIDs: []string{}}
	digests := map[string]string{}
	// The checks run with the format's, line by line: every error of the
	// file comes in one answer.
	recs, err := history.ParseChecked(bytes.NewReader(data), func(rec *history.Record, l *history.Line) {
		checkRecord(rec, directory, now, l)
		if rec.ID == "" {
			return
		}
		digest, err := history.Digest(rec)
		if err != nil {
			l.Add("", "enregistrement illisible : %v", err)
			return
		}
		digests[rec.ID] = digest
		switch a := byID[rec.ID]; {
		case a == nil:
		case a.Imported != nil && a.Imported.Digest == digest:
		case a.Imported != nil:
			l.Add("id", "l'activation %s est déjà importée avec un autre contenu (source « %s », le %s par %s) : "+
				"donnez un autre identifiant à cette ligne, ou retirez-la", rec.ID, a.Imported.Source, tocsin.ParisTime(a.Imported.At), a.Imported.By)
		default:
			l.Add("id", "l'identifiant %s est celui d'une activation menée dans Tocsin (%s) : donnez-en un autre à cette ligne",
				rec.ID, tocsin.ParisTime(a.ActivatedAt))
		}
	})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, tocsin.Errorf(tocsin.EUnprocessable, "fichier vide : aucune activation à importer")
	}
	var todo []*history.Record
	for i := range recs {
		if a := byID[recs[i].ID]; a != nil {
			res.PresentIDs = append(res.PresentIDs, recs[i].ID) // the same content: checked above
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
				imp := tocsin.Import{Source: rec.Source, At: now, By: by.Name, Digest: digests[rec.ID]}
				a, rs := rec.Activation(func(id string) (tocsin.Official, bool) { o, ok := directory[id]; return o, ok }, imp)
				ev := tocsin.Event{At: now, Kind: tocsin.EventImported,
					Detail: fmt.Sprintf("activation importée de l'historique par %s%s — source : « %s »", by.Name, from, rec.Source)}
				entry := tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditHistoryImported, Activation: a.ID,
					Detail: ev.Detail + " ; empreinte " + imp.Digest}
				err := s.history.ImportActivation(ctx, a, rs, ev, entry)
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
			from, res.Imported, res.AlreadyPresent, importDigest(res.ImportedIDs, digests)))
	}
	if firstErr != nil {
		// What was written is whole and stays; importing the file again
		// adds the rest.
		return res, firstErr
	}
	return res, nil
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

// checkRecord reports what in a record does not fit this Tocsin: times in
// the future, officials neither in the directory nor marked external. The
// record may be partial (its line has format errors): what is zero is not
// checked.
func checkRecord(rec *history.Record, directory map[string]tocsin.Official, now time.Time, l *history.Line) {
	future := func(t *time.Time) string {
		if t != nil && t.After(now) {
			return fmt.Sprintf("%s est dans le futur (il est %s) : l'historique ne contient que le passé", t.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		return ""
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"activated_at", &rec.ActivatedAt}, {"closed_at", rec.ClosedAt}, {"cip_activated_at", rec.CIPActivatedAt}, {"exercise_due", rec.ExerciseDue}} {
		if msg := future(f.t); msg != "" {
			l.Add(f.name, "%s", msg)
		}
	}
	for _, o := range rec.Officials {
		if msg := future(o.InformedAt); msg != "" {
			l.AddOfficial(o.ID, "informed_at", "%s", msg)
		}
		if _, ok := directory[o.ID]; !ok && !o.External && o.ID != "" {
			l.AddOfficial(o.ID, "id", "l'élu %s (%s) n'est pas dans l'annuaire : ajoutez-le à l'annuaire, ou marquez-le \"external\": true",
				o.ID, o.Name)
		}
	}
}

// History returns the records of the activations whose activated_at is in
// [from, to) — a zero bound is open — oldest first: those Tocsin ran and
// those it imported, as one history file holds them. An activation still
// open is left out unless withOpen, since its record would read as closed
// (and its officials not informed yet as never informed): leftOut names
// those left out.
func (s *Service) History(ctx context.Context, from, to time.Time, withOpen bool) (recs []history.Record, leftOut []string, err error) {
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
	var acts []tocsin.Activation
	for _, a := range all {
		if (from.IsZero() || !a.ActivatedAt.Before(from)) && (to.IsZero() || a.ActivatedAt.Before(to)) {
			acts = append(acts, a)
		}
	}
	slices.SortFunc(acts, func(x, y tocsin.Activation) int {
		return cmp.Or(x.ActivatedAt.Compare(y.ActivatedAt), strings.Compare(x.ID, y.ID))
	})
	acts = slices.DeleteFunc(acts, func(a tocsin.Activation) bool {
		if a.State != tocsin.Closed && !withOpen {
			leftOut = append(leftOut, a.ID)
			return true
		}
		return false
	})
	out := make([]history.Record, 0, len(acts))
	for i := range acts {
		rs, err := s.store.Recipients(ctx, acts[i].ID)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, history.FromActivation(&acts[i], rs, func(id string) bool { return inDirectory[id] }))
	}
	return out, leftOut, nil
}
