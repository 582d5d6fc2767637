package activation

import (
	"context"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/history"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// importCheck checks the records of a history file against this Tocsin:
// its directory, the activations and scheduled runs it holds, its clock.
type importCheck struct {
	now       time.Time
	directory map[string]tocsin.Official
	byID      map[string]*tocsin.Activation
	// runs are the recorded runs of the schedule, by due instant (UTC);
	// imported those imported from the history, by record id.
	runs     map[time.Time]*tocsin.ExerciseRun
	imported map[string]*tocsin.ExerciseRun
	// fulfilled are the due instants the exercises held fulfil.
	fulfilled map[time.Time]string
	// held and notHeld are the lines of the file that fulfil a due
	// instant, or state it not held.
	held, notHeld map[time.Time]int
	// digests of the records read, by id; present the ids already
	// imported with the same content.
	digests map[string]string
	present map[string]bool
}

func (s *Service) newImportCheck(ctx context.Context) (*importCheck, error) {
	c := &importCheck{now: s.now().UTC(), directory: map[string]tocsin.Official{}, byID: map[string]*tocsin.Activation{},
		runs: map[time.Time]*tocsin.ExerciseRun{}, imported: map[string]*tocsin.ExerciseRun{}, fulfilled: map[time.Time]string{},
		held: map[time.Time]int{}, notHeld: map[time.Time]int{}, digests: map[string]string{}, present: map[string]bool{}}
	officials, err := s.store.Officials(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range officials {
		c.directory[o.ID] = o
	}
	existing, err := s.store.Activations(ctx)
	if err != nil {
		return nil, err
	}
	for i := range existing {
		a := &existing[i]
		c.byID[a.ID] = a
		if a.Exercise && a.ExerciseDue != nil {
			c.fulfilled[a.ExerciseDue.UTC()] = a.ID
		}
	}
	runs, err := s.history.ExerciseRuns(ctx)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		r := &runs[i]
		c.runs[r.Due.UTC()] = r
		if r.Imported != nil && r.ID != "" {
			c.imported[r.ID] = r
		}
	}
	return c, nil
}

// check reports what in a record does not fit this Tocsin (a
// history.CheckFunc). The record may be partial (its line has format
// errors): what is zero is not checked.
func (c *importCheck) check(rec *history.Record, l *history.Line) {
	c.checkTimes(rec, l)
	c.checkDue(rec, l)
	if rec.ID == "" {
		return
	}
	digest, err := history.Digest(rec)
	if err != nil {
		l.Add("", "enregistrement illisible : %v", err)
		return
	}
	c.digests[rec.ID] = digest
	a, run := c.byID[rec.ID], c.imported[rec.ID]
	switch {
	case a == nil && run == nil:
	case a != nil && a.Imported != nil && a.Imported.Digest == digest, run != nil && run.Imported.Digest == digest:
		c.present[rec.ID] = true
	case a != nil && a.Imported != nil:
		l.Add("id", "l'activation %s est déjà importée avec un autre contenu (source « %s », le %s par %s) : "+
			"donnez un autre identifiant à cette ligne, ou retirez-la", rec.ID, a.Imported.Source, tocsin.ParisTime(a.Imported.At), a.Imported.By)
	case a != nil:
		l.Add("id", "l'identifiant %s est celui d'une activation menée dans Tocsin (%s) : donnez-en un autre à cette ligne",
			rec.ID, tocsin.ParisTime(a.ActivatedAt))
	default:
		l.Add("id", "l'identifiant %s est celui d'un exercice non tenu déjà importé avec un autre contenu (source « %s », le %s par %s) : "+
			"donnez un autre identifiant à cette ligne, ou retirez-la", rec.ID, run.Imported.Source, tocsin.ParisTime(run.Imported.At), run.Imported.By)
	}
}

// checkTimes reports times in the future, and officials neither in the
// directory nor marked external.
func (c *importCheck) checkTimes(rec *history.Record, l *history.Line) {
	future := func(t *time.Time) string {
		if t != nil && t.After(c.now) {
			return fmt.Sprintf("%s est dans le futur (il est %s) : l'historique ne contient que le passé", t.Format(time.RFC3339), c.now.Format(time.RFC3339))
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
		if _, ok := c.directory[o.ID]; !ok && !o.External && o.ID != "" {
			l.AddOfficial(o.ID, "id", "l'élu %s (%s) n'est pas dans l'annuaire : ajoutez-le à l'annuaire, ou marquez-le \"external\": true",
				o.ID, o.Name)
		}
	}
}

// checkDue reports a scheduled exercise said both held and not held, or
// said not held when Tocsin recorded it: in this Tocsin or in the file.
func (c *importCheck) checkDue(rec *history.Record, l *history.Line) {
	if rec.ExerciseDue == nil {
		return
	}
	due := rec.ExerciseDue.UTC()
	when := tocsin.ParisTime(due)
	if !rec.NotHeld() {
		if run := c.runs[due]; run != nil && run.Status == tocsin.RunNotHeld {
			l.Add("exercise_due", "l'exercice prévu le %s est déclaré non tenu (%s, importé le %s) : un exercice ne peut être à la fois tenu et non tenu",
				when, run.ID, tocsin.ParisTime(run.Imported.At))
		} else if line, ok := c.notHeld[due]; ok {
			l.Add("exercise_due", "l'exercice prévu le %s est déclaré non tenu ligne %d : un exercice ne peut être à la fois tenu et non tenu", when, line)
		}
		c.held[due] = l.Number()
		return
	}
	run := c.runs[due]
	switch {
	case run != nil && run.ID == rec.ID:
		// The same record imported again: its digest decides.
	case run != nil:
		l.Add("exercise_due", "l'exercice prévu le %s est déjà enregistré par Tocsin (%s) : retirez cette ligne", when, runLabel(run))
	case c.fulfilled[due] != "":
		l.Add("exercise_due", "l'exercice prévu le %s a été tenu : l'exercice %s le remplit ; retirez cette ligne", when, c.fulfilled[due])
	}
	if line, ok := c.held[due]; ok {
		l.Add("exercise_due", "l'exercice prévu le %s est tenu ligne %d : un exercice ne peut être à la fois tenu et non tenu", when, line)
	} else if line, ok := c.notHeld[due]; ok {
		l.Add("exercise_due", "l'exercice prévu le %s est déjà déclaré non tenu ligne %d", when, line)
	}
	c.notHeld[due] = l.Number()
}

// runLabel says what became of a recorded run, in French.
func runLabel(r *tocsin.ExerciseRun) string {
	switch r.Status {
	case tocsin.RunLaunched:
		return "lancé, activation " + r.Activation
	case tocsin.RunNotified:
		return "signalé à l'officier de permanence"
	case tocsin.RunMissed:
		return "manqué"
	case tocsin.RunFailed:
		return "échec du lancement"
	case tocsin.RunNotHeld:
		return "déclaré non tenu, " + r.ID
	}
	return "lancement interrompu"
}
