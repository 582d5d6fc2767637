package history

import (
	"slices"
	"strings"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Activation returns the closed activation and the recipients a record
// becomes once imported, marked with imp. directory returns the current
// directory's official with an id: a known official keeps the directory's
// details (commune, numbers) under the record's name; an external one has
// only the id and name of the record.
func (r *Record) Activation(directory func(id string) (tocsin.Official, bool), imp tocsin.Import) (*tocsin.Activation, []tocsin.Recipient) {
	a := &tocsin.Activation{
		ID:          r.ID,
		Playbook:    r.Playbook,
		Title:       r.Title,
		Exercise:    r.Exercise(),
		Note:        r.Note,
		State:       tocsin.Closed,
		ActivatedAt: r.ActivatedAt.UTC(),
		Deadline:    r.Deadline.UTC(),
		Targeted:    len(r.Officials),
		ClosedAt:    utc(r.ClosedAt),
		ExerciseDue: utc(r.ExerciseDue),
		Imported:    &imp,
	}
	if r.CIPActivatedAt != nil {
		a.CIP = a.NewCIP(r.CIPActivatedAt.UTC(), "", time.Duration(r.CIPAnnouncedDelaySeconds)*time.Second, "")
		if r.CIPOperatorsInPosition > 0 {
			a.CIP.By, a.CIP.Staffed = "Tocsin", r.CIPOperatorsInPosition
		}
	}
	rs := make([]tocsin.Recipient, 0, len(r.Officials))
	for _, o := range r.Officials {
		rc := tocsin.Recipient{Official: tocsin.Official{ID: o.ID, Name: o.Name}, External: o.External, Status: tocsin.StatusFailed}
		if d, ok := directory(o.ID); ok && !o.External {
			d.Name = o.Name
			rc.Official = d
		}
		if o.InformedAt != nil {
			rc.InformedAt, rc.InformedHow, rc.Status = utc(o.InformedAt), o.How, tocsin.StatusInformed
		}
		rs = append(rs, rc)
	}
	return a, rs
}

// FromActivation returns the record of an activation and its recipients.
// An imported activation gives back the record it was imported from. For
// one Tocsin ran, the source is "tocsin", and the officials no longer in
// the directory (inDirectory) are marked external, so that the record
// imports into a Tocsin with the current directory.
func FromActivation(a *tocsin.Activation, rs []tocsin.Recipient, inDirectory func(id string) bool) Record {
	r := Record{
		ID:          a.ID,
		Kind:        KindReal,
		Playbook:    a.Playbook,
		Title:       a.Title,
		ActivatedAt: a.ActivatedAt.UTC(),
		Deadline:    a.Deadline.UTC(),
		ClosedAt:    utc(a.ClosedAt),
		ExerciseDue: utc(a.ExerciseDue),
		Note:        a.Note,
		Source:      SourceTocsin,
	}
	if a.Exercise {
		r.Kind = KindExercise
	}
	if r.Title == "" {
		r.Title = r.Playbook
	}
	if a.CIP != nil {
		r.CIPActivatedAt = utc(&a.CIP.ActivatedAt)
		r.CIPAnnouncedDelaySeconds = int64(a.CIP.AnnouncedSeconds + 0.5)
		if r.CIPAnnouncedDelaySeconds <= 0 {
			r.CIPAnnouncedDelaySeconds = DefaultCIPDelaySeconds
		}
		r.CIPOperatorsInPosition = a.CIP.Staffed
	}
	if a.Imported != nil {
		r.Source = a.Imported.Source
	}
	for _, rc := range rs {
		o := Official{ID: rc.Official.ID, Name: rc.Official.Name, External: rc.External}
		if o.Name == "" {
			o.Name = o.ID
		}
		if a.Imported == nil {
			o.External = !inDirectory(o.ID)
		}
		if rc.InformedAt != nil {
			o.InformedAt, o.How = utc(rc.InformedAt), rc.InformedHow
			if !slices.Contains(hows, o.How) {
				o.How = "manual"
			}
		}
		r.Officials = append(r.Officials, o)
	}
	slices.SortFunc(r.Officials, func(x, y Official) int { return strings.Compare(x.ID, y.ID) })
	return r
}

// Run returns the run a record of KindNotHeld becomes once imported,
// marked with imp.
func (r *Record) Run(imp tocsin.Import) tocsin.ExerciseRun {
	return tocsin.ExerciseRun{Due: r.ExerciseDue.UTC(), Status: tocsin.RunNotHeld, ClaimedAt: imp.At, By: imp.By,
		ID: r.ID, Title: r.Title, Note: r.Note, Imported: &imp}
}

// FromRun returns the record of a scheduled exercise that did not happen.
// A run imported from the history gives back the record it was imported
// from; one of Tocsin's own schedule is written as not held, with source
// "tocsin", an id made of its due instant and a note saying why.
func FromRun(run tocsin.ExerciseRun) Record {
	due := run.Due.UTC()
	if run.Imported != nil {
		return Record{ID: run.ID, Kind: KindNotHeld, Title: run.Title, ExerciseDue: &due, Note: run.Note, Source: run.Imported.Source}
	}
	r := Record{ID: "non-tenu-" + due.Format("20060102-1504"), Kind: KindNotHeld, ExerciseDue: &due, Source: SourceTocsin,
		Title: "Exercice programmé du " + due.In(tocsin.Paris()).Format("02/01/2006 à 15:04") + " (heure de Paris)"}
	switch run.Status {
	case tocsin.RunMissed:
		r.Note = "manqué : aucun leader pour le lancer à temps"
	case tocsin.RunFailed:
		r.Note = "échec du lancement : " + run.Error
		if n := []rune(r.Note); len(n) > maxNote {
			r.Note = string(n[:maxNote])
		}
	case tocsin.RunClaimed:
		r.Note = "lancement interrompu"
	case tocsin.RunUnrecorded:
		r.Note = "dû avant la mise en service de Tocsin, aucun exercice enregistré"
	}
	return r
}
