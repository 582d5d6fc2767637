package exercise

import (
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// User is the name scheduled exercises are launched and recorded under.
const User = "planification"

// entry is the audit entry of what became of a run, written in the same
// transaction as the run's record.
func (r *Runner) entry(run tocsin.ExerciseRun, now time.Time) tocsin.AuditEntry {
	due := run.Due.In(tocsin.Paris()).Format("02/01/2006 15:04")
	e := tocsin.AuditEntry{At: now.UTC(), Actor: User, Action: tocsin.AuditExercise, Activation: run.Activation}
	switch run.Status {
	case tocsin.RunMissed:
		e.Detail = fmt.Sprintf("exercice prévu le %s manqué : aucun leader pour le lancer à temps", due)
	case tocsin.RunFailed:
		e.Detail = fmt.Sprintf("exercice prévu le %s : échec du lancement : %s", due, run.Error)
	case tocsin.RunNotified:
		e.Detail = fmt.Sprintf("exercice prévu le %s : à lancer par l'officier de permanence", due)
	default:
		e.Detail = fmt.Sprintf("exercice prévu le %s lancé avec le scénario %s", due, r.Playbook)
	}
	return e
}
